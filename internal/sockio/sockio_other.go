//go:build !linux

package sockio

import (
	"os"
	"syscall"
)

// rawCapable: elsewhere a connection is read and written through its own methods.
const rawCapable = false

// ReadFD is not used where rawCapable is false.
func ReadFD(uintptr, []byte) (int, syscall.Errno) { return 0, syscall.ENOSYS }

// WriteFD is not used where rawCapable is false.
func WriteFD(uintptr, []byte) (int, syscall.Errno) { return 0, syscall.ENOSYS }

func syscallError(name string, e syscall.Errno) error { return os.NewSyscallError(name, e) }

// PeekFD is not used where rawCapable is false.
func PeekFD(uintptr) (int, syscall.Errno) { return 0, syscall.ENOSYS }
