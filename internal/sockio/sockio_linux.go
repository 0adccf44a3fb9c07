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

// PeekFD looks at fd's next byte without taking it and without waiting (recvfrom with MSG_PEEK
// and MSG_DONTWAIT), with one raw system call (retried on EINTR): 1 when a byte is there, 0
// with no error at the peer's end, EAGAIN when nothing is there yet.
func PeekFD(fd uintptr) (int, syscall.Errno) {
	var b [1]byte
	for {
		n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1, //nolint:gosec // b's one byte, as syscall.Recvfrom passes it
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		if e != syscall.EINTR {
			if e != 0 {
				return 0, e
			}
			return int(n), 0
		}
	}
}

func syscallError(name string, e syscall.Errno) error { return os.NewSyscallError(name, e) }
