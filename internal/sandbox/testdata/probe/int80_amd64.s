#include "textflag.h"

// func int80Getpid() uintptr
// Makes getpid (20 in the i386 table) through the 32-bit int 0x80 gate.
TEXT ·int80Getpid(SB), NOSPLIT, $0-8
	MOVL $20, AX
	INT $0x80
	MOVQ AX, ret+0(FP)
	RET
