package lambdalocal

import "syscall"

// procAttr puts the function in its own process group, so stopping it takes
// any child with it, and has the kernel kill it should this process die
// without calling Close.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
