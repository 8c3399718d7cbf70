//go:build !linux

package lambdalocal

import "syscall"

// procAttr puts the function in its own process group, so stopping it takes
// any child with it. Only Linux can also tie its life to ours.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
