package storage

import (
	"context"
	"database/sql/driver"
	"fmt"
	"os"
	"testing"
	"time"
)

func TestZZExplain(t *testing.T) {
	home := "/tmp/bighome"
	if _, err := os.Stat(home + "/runs"); err != nil {
		writeBigRun(t, home)
	}
	s := openTest(t, home)
	ctx := context.Background()
	p, _ := s.planFrame(ctx, []string{"loss"})
	q := p.sql()
	for _, qq := range []string{q, os.Getenv("Q")} {
		if qq == "" {
			continue
		}
		for i := 0; i < 3; i++ {
			start := time.Now()
			n := 0
			s.rawQuery(ctx, qq, func([]driver.Value) error { n++; return nil })
			fmt.Println("query+fetch", time.Since(start), n)
		}
		start := time.Now()
		var x int
		s.db.QueryRow("SELECT count(*) FROM (" + qq + ")").Scan(&x)
		fmt.Println("query", time.Since(start))
	}
	if os.Getenv("EXPLAIN") != "" {
		var plan, x string
		rows, err := s.db.QueryContext(ctx, "EXPLAIN ANALYZE "+q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			rows.Scan(&x, &plan)
			fmt.Println(plan)
		}
	}
}
