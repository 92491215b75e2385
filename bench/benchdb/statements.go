package benchdb

import (
	"fmt"
	"strings"

	"github.com/parleyhq/parley/internal/store/postgres"
)

// PrintStatements prints the top statement texts PostgreSQL counted, per
// operation (ops of them): how many, how many of those were pipelined with
// others, and the µs from send to answer of each round trip one ended.
func PrintStatements(texts []postgres.StatementCount, top, ops int) {
	for i, t := range texts {
		if i == top {
			break
		}
		sql := strings.Join(strings.Fields(t.SQL), " ")
		if len(sql) > 110 {
			sql = sql[:110] + "…"
		}
		fmt.Printf("    %6.2f  %6.2f  %5.0f  %s\n", float64(t.N)/float64(ops), float64(t.Batched)/float64(ops),
			float64(t.Waited.Microseconds())/float64(max(1, t.Ends)), sql)
	}
}
