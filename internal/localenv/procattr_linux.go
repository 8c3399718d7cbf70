package localenv

import "syscall"

// motoProcAttr puts moto in its own process group, so stopping it takes any
// child with it, and has the kernel kill it should this process die without
// calling Close (a test binary hitting -timeout, say).
func motoProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
