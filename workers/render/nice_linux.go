package render

import "syscall"

// setNice lowers a process's CPU priority.
func setNice(pid, nice int) error { return syscall.Setpriority(syscall.PRIO_PROCESS, pid, nice) }
