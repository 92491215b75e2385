package projectdb

import (
	"fmt"
	"strings"
)

// SQLite gives no authorizer through the driver's API (modernc.org/sqlite
// v1.60 exposes limits, hooks and the defensive flag, not
// sqlite3_set_authorizer), so the console's statements pass a check that
// fails closed: a statement is run only when its kind is one this list
// allows and it names nothing on the deny list. Underneath, every
// connection has SQLITE_LIMIT_ATTACHED at 0 (ATTACH fails in SQLite
// itself) and defensive mode on (no writable_schema, no shadow-table
// writes), and the file is the project's own, opened on its own
// connections.

// sqliteAllowed are the statement kinds the SQLite console runs.
var sqliteAllowed = map[string]bool{
	"SELECT": true, "WITH": true, "VALUES": true, "INSERT": true, "UPDATE": true, "DELETE": true, "REPLACE": true,
	"CREATE": true, "DROP": true, "ALTER": true, "EXPLAIN": true, "PRAGMA": true, "ANALYZE": true, "REINDEX": true,
}

// sqliteDenied are words refused anywhere in a statement: they reach other
// files or change how the connection itself behaves.
var sqliteDenied = map[string]string{
	"ATTACH":               "ATTACH opens another database file",
	"DETACH":               "DETACH changes the connection's databases",
	"VACUUM":               "VACUUM (INTO) writes another file",
	"LOAD_EXTENSION":       "load_extension loads native code",
	"READFILE":             "readfile reads files",
	"WRITEFILE":            "writefile writes files",
	"EDIT":                 "edit runs an editor",
	"FTS3_TOKENIZER":       "fts3_tokenizer takes native pointers",
	"SQLITE_DBPAGE":        "sqlite_dbpage reads raw pages",
	"VIRTUAL":              "virtual tables load modules",
	"WRITABLE_SCHEMA":      "writable_schema edits the schema table",
	"TRUSTED_SCHEMA":       "trusted_schema weakens the schema's checks",
	"TEMP_STORE_DIRECTORY": "temp_store_directory chooses files",
	"DATA_STORE_DIRECTORY": "data_store_directory chooses files",
}

// sqlitePragmas are the PRAGMAs the console runs: reading the schema only.
var sqlitePragmas = map[string]bool{
	"TABLE_INFO": true, "TABLE_XINFO": true, "TABLE_LIST": true, "INDEX_LIST": true, "INDEX_INFO": true, "INDEX_XINFO": true,
	"FOREIGN_KEY_LIST": true, "COLLATION_LIST": true,
}

// checkSQLite refuses a statement the SQLite console must not run.
func checkSQLite(st statement) error {
	kind := st.first()
	if !sqliteAllowed[kind] {
		return fmt.Errorf("%s statements are not allowed in the project database's console", kind)
	}
	for _, w := range st.Words {
		if why, ok := sqliteDenied[w]; ok {
			return fmt.Errorf("%s is not allowed: %s", w, why)
		}
	}
	if kind == "PRAGMA" {
		name := ""
		if len(st.Words) > 1 {
			name = st.Words[1]
			if (name == "MAIN" || name == "TEMP") && len(st.Words) > 2 {
				name = st.Words[2]
			}
		}
		if !sqlitePragmas[name] {
			return fmt.Errorf("PRAGMA %s is not allowed: the console reads the schema with table_info, table_list, index_list, index_info and foreign_key_list only", strings.ToLower(name))
		}
		if strings.Contains(st.Text, "=") {
			return fmt.Errorf("PRAGMA writes are not allowed")
		}
	}
	if kind == "CREATE" && len(st.Words) > 1 {
		switch st.Words[1] {
		case "TABLE", "INDEX", "UNIQUE", "VIEW", "TRIGGER", "TEMP", "TEMPORARY":
		default:
			return fmt.Errorf("CREATE %s is not allowed", st.Words[1])
		}
	}
	return nil
}
