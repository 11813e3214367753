package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
)

// writeLock serialises write commands across all client connections, so each
// one completes (read, modify, write) before the next starts.
var writeLock sync.Mutex

// writeCommands are the commands that change data; reads run concurrently.
var writeCommands = map[string]bool{
	"insert": true, "update": true, "delete": true, "findAndModify": true, "findandmodify": true,
	"create": true, "createIndexes": true, "drop": true, "dropDatabase": true, "dropIndexes": true,
	"renameCollection": true,
}

const (
	opMsg        = 2013
	opCompressed = 2012
	maxMessage   = 48 << 20
)

// serveProxy accepts clients on listen and pairs each with its own connection
// to FerretDB's Unix socket.
func serveProxy(ctx context.Context, listen, socket string, logger *slog.Logger) error {
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	for {
		client, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		go func() {
			defer client.Close()
			upstream, err := net.Dial("unix", socket)
			if err != nil {
				logger.Warn("proxy: cannot reach FerretDB", "error", err)
				return
			}
			defer upstream.Close()
			if err := relay(client, upstream); err != nil && !errors.Is(err, io.EOF) {
				logger.Debug("proxy: connection ended", "error", err)
			}
		}()
	}
}

// relay forwards one request at a time and its single reply (drivers here use
// neither exhaust cursors nor moreToCome, and FerretDB supports neither).
func relay(client, upstream net.Conn) error {
	for {
		request, err := readMessage(client)
		if err != nil {
			return err
		}
		locked := isWrite(request)
		if locked {
			writeLock.Lock()
		}
		reply, err := roundTrip(upstream, request)
		if locked {
			writeLock.Unlock()
		}
		if err != nil {
			return err
		}
		if _, err := client.Write(reply); err != nil {
			return err
		}
	}
}

func roundTrip(upstream net.Conn, request []byte) ([]byte, error) {
	if _, err := upstream.Write(request); err != nil {
		return nil, err
	}
	return readMessage(upstream)
}

func readMessage(r io.Reader) ([]byte, error) {
	var header [16]byte
	if _, err := io.ReadFull(r, header[:]); err != nil {
		return nil, err
	}
	length := int(binary.LittleEndian.Uint32(header[0:4]))
	if length < 16 || length > maxMessage {
		return nil, fmt.Errorf("bad message length %d", length)
	}
	message := make([]byte, length)
	copy(message, header[:])
	if _, err := io.ReadFull(r, message[16:]); err != nil {
		return nil, err
	}
	return message, nil
}

// isWrite reads the command name: the first key of an OP_MSG's body section.
// Anything it cannot read (a compressed message, say) is treated as a write.
func isWrite(message []byte) bool {
	opCode := binary.LittleEndian.Uint32(message[12:16])
	if opCode == opCompressed {
		return true
	}
	if opCode != opMsg {
		return false // legacy OP_QUERY: only the driver's initial handshake
	}
	// header (16) + flagBits (4) + section kind (1) + document length (4) + element type (1)
	const nameAt = 16 + 4 + 1 + 4 + 1
	if len(message) <= nameAt || message[20] != 0 {
		return true
	}
	end := nameAt
	for end < len(message) && message[end] != 0 {
		end++
	}
	return writeCommands[string(message[nameAt:end])]
}
