//go:build !amd64

package main

func int80Getpid() uintptr { return 0 }

const haveInt80 = false
