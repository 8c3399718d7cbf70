//go:build !linux

package localenv

import "syscall"

// motoProcAttr puts moto in its own process group, so stopping it takes any
// child with it. Only Linux can also tie its life to ours.
func motoProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
