package sockio

import (
	"os"
	"syscall"
	"unsafe"
)

// rawCapable: the platform's sockets are read and written with raw system calls.
const rawCapable = true

// ReadFD reads from fd, a non-blocking socket, with one raw system call (retried on EINTR): the
// bytes read, or the error (EAGAIN: nothing yet; 0 bytes and no error: the peer's end).
func ReadFD(fd uintptr, p []byte) (int, syscall.Errno) {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p))) //nolint:gosec // p's memory for its length, as syscall.Read passes it
		if e != syscall.EINTR {
			if e != 0 {
				return 0, e
			}
			return int(n), 0
		}
	}
}

// WriteFD writes p to fd, a non-blocking socket, with one raw system call (retried on EINTR):
// what the socket took, and the error (EAGAIN: no room for more).
func WriteFD(fd uintptr, p []byte) (int, syscall.Errno) {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p))) //nolint:gosec // as syscall.Write passes it
		if e != syscall.EINTR {
			if e != 0 {
				return 0, e
			}
			return int(n), 0
		}
	}
}

func syscallError(name string, e syscall.Errno) error { return os.NewSyscallError(name, e) }
