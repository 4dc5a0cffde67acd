package storage

import (
	"database/sql/driver"
	"fmt"
)

// Tables the appenders fill, and their column counts.
const (
	tLogs = iota
	tCtx
	tCkpts
	tWarns
	numTables
)

var (
	tableNames  = [numTables]string{"logs", "ctx", "ckpts", "warns"}
	tableWidths = [numTables]int{13, 6, 7, 3}
)

// batchRows is the number of rows per batch handed to the appender
// goroutine: DuckDB's vector size.
const batchRows = 2048

type batch struct {
	table int
	vals  []driver.Value
}

// emit queues one row for table t.
func (in *ingester) emit(t int, vals ...driver.Value) {
	b := in.cur[t]
	if b == nil {
		select {
		case b = <-in.free:
		default:
			b = &batch{vals: make([]driver.Value, 0, batchRows*tableWidths[t])}
		}
		b.table = t
		in.cur[t] = b
	}
	b.vals = append(b.vals, vals...)
	if len(b.vals) >= batchRows*tableWidths[t] {
		in.batches <- b
		in.cur[t] = nil
	}
}

// startAppending runs the appender goroutine.
func (in *ingester) startAppending() {
	in.batches = make(chan *batch, 8)
	in.free = make(chan *batch, 16)
	in.appended = make(chan error, 1)
	go func() {
		var err error
		for b := range in.batches {
			if err == nil {
				a, w := in.apps[b.table], tableWidths[b.table]
				for i := 0; i < len(b.vals); i += w {
					if err = a.AppendRow(b.vals[i : i+w]...); err != nil {
						err = fmt.Errorf("append to raw.%s: %w", tableNames[b.table], err)
						break
					}
				}
			}
			clear(b.vals)
			b.vals = b.vals[:0]
			select {
			case in.free <- b:
			default:
			}
		}
		in.appended <- err
	}()
}

// finishAppending sends the partial batches, waits for the appender
// goroutine and returns its error.
func (in *ingester) finishAppending() error {
	if in.batches == nil {
		return nil
	}
	for t, b := range in.cur {
		if b != nil && len(b.vals) > 0 {
			in.batches <- b
		}
		in.cur[t] = nil
	}
	close(in.batches)
	err := <-in.appended
	in.batches = nil
	return err
}

func (in *ingester) flushAppenders() error {
	for t, a := range in.apps {
		if a == nil {
			continue
		}
		err := a.Close()
		in.apps[t] = nil
		if err != nil {
			return fmt.Errorf("append to raw.%s: %w", tableNames[t], err)
		}
	}
	return nil
}

func (in *ingester) closeAppenders() {
	in.finishAppending()
	for _, a := range in.apps {
		if a != nil {
			a.Close()
		}
	}
}
