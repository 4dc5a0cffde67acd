package record

import (
	"bytes"
	"fmt"
)

// A diverge record is written by a replay worker when a value it logs
// under a name the run recorded, in the same loop context, is not the
// recorded one byte for byte: replay checks itself.

// AppendDiverge appends a diverge record: name logged at context at
// ("epoch 3, step 120"; "" outside every loop) was recorded as recVal of
// type recType and replayed as val of type typ. Values are raw JSON, as
// log records hold them.
func AppendDiverge(b []byte, name, at string, recType TypeCode, recVal []byte, typ TypeCode, val []byte) []byte {
	b = append(b, `{"`+KeyKind+`":"diverge","`+KeyName+`":`...)
	b = AppendString(b, name)
	b = append(b, `,"`+KeyAt+`":`...)
	b = AppendString(b, at)
	b = append(b, `,"`+KeyRecType+`":`...)
	b = AppendString(b, recType.String())
	b = append(b, `,"`+KeyRecValue+`":`...)
	b = append(b, recVal...)
	b = append(b, `,"`+KeyType+`":`...)
	b = AppendString(b, typ.String())
	b = append(b, `,"`+KeyValue+`":`...)
	b = append(b, val...)
	return Close(b)
}

// DivergenceWarning starts the warning the store keeps for an accepted
// divergence: the prefix, then Divergence.String.
const DivergenceWarning = "replay diverged (accepted): "

// Divergence is a diverge record.
type Divergence struct {
	Name     string
	At       string // the loop context, "epoch 3, step 120"; "" outside every loop
	RecType  TypeCode
	Recorded []byte // raw JSON, as the run recorded it
	Type     TypeCode
	Replayed []byte // raw JSON, as the replay logged it
}

// Divergence decodes a diverge record.
func (l Line) Divergence() (Divergence, error) {
	var d Divergence
	if l.Kind != KindDiverge {
		return d, fmt.Errorf("%w: not a diverge record", ErrNotRecord)
	}
	var name []byte
	for _, m := range l.Members {
		switch string(m.Key) {
		case KeyName:
			name = m.Val
		case KeyAt:
			d.At, _ = String(m.Val)
		case KeyRecType:
			d.RecType = CodeOf(m.Val)
		case KeyRecValue:
			d.Recorded = bytes.Clone(m.Val)
		case KeyType:
			d.Type = CodeOf(m.Val)
		case KeyValue:
			d.Replayed = bytes.Clone(m.Val)
		}
	}
	var ok bool
	if d.Name, ok = String(name); !ok || d.Recorded == nil || d.Replayed == nil {
		return d, fmt.Errorf("%w: diverge record without name or values", ErrNotRecord)
	}
	return d, nil
}

// String describes the divergence: `val_acc at epoch 3: recorded 0.5,
// replayed 0.51`, the types added when they differ.
func (d Divergence) String() string {
	at := "outside every loop"
	if d.At != "" {
		at = "at " + d.At
	}
	rec, rep := string(d.Recorded), string(d.Replayed)
	if d.RecType != d.Type {
		rec += " (" + d.RecType.String() + ")"
		rep += " (" + d.Type.String() + ")"
	}
	return fmt.Sprintf("%s %s: recorded %s, replayed %s", d.Name, at, rec, rep)
}
