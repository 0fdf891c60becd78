package main

import "syscall"

func syscallDup2(oldfd, newfd int) { syscall.Dup3(oldfd, newfd, 0) }
