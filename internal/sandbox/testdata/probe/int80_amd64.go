package main

func int80Getpid() uintptr

const haveInt80 = true
