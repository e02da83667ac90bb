package config

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// parseCSV reads a kiosk file in CSV: a header line naming the columns (any
// order, any case), then one kiosk per line. ok is false when the file as a
// whole is unusable (empty, no header); ps then says why.
func parseCSV(fc *fileContext, data []byte) (ks []Kiosk, ps []Problem, ok bool) {
	// Spreadsheet programs put a byte order mark in front of UTF-8 CSV.
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, []Problem{{fc.path, 0, "the file is empty; a kiosk file starts with a header line such as id,name,site,host,port (a header alone lists no kiosks)"}}, false
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = -1 // checked against the header below, with a better message
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err != nil {
		return nil, []Problem{csvProblem(fc.path, err)}, false
	}
	headerLine, _ := r.FieldPos(0)
	index := make(map[string]int)
	var unknown []string
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		if !slices.Contains(columns, name) {
			unknown = append(unknown, fmt.Sprintf("%q", h))
			continue
		}
		if _, dup := index[name]; dup {
			return nil, []Problem{{fc.path, headerLine, fmt.Sprintf("the header names column %q twice", name)}}, false
		}
		index[name] = i
	}
	for _, need := range []string{"id", "host"} {
		if _, found := index[need]; !found {
			return nil, []Problem{{fc.path, headerLine, fmt.Sprintf("the header line (%s) has no %q column; the first line must name the columns, at least id and host, from: %s",
				strings.Join(header, ","), need, strings.Join(columns, ","))}}, false
		}
	}
	if len(unknown) > 0 {
		ps = append(ps, Problem{fc.path, headerLine, fmt.Sprintf("ignoring unknown columns %s; known columns: %s",
			strings.Join(unknown, ", "), strings.Join(columns, ","))})
	}
	values := make(map[string]string, len(index))
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			ps = append(ps, csvProblem(fc.path, err))
			continue
		}
		line, _ := r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) != len(header) {
			ps = append(ps, Problem{fc.path, line, fmt.Sprintf("%d fields where the header has %d; entry skipped", len(rec), len(header))})
			continue
		}
		for name, i := range index {
			values[name] = rec[i]
		}
		k, p := fc.kiosk(values, line)
		if p != nil {
			ps = append(ps, *p)
			continue
		}
		ks = append(ks, k)
	}
	return ks, ps, true
}

func csvProblem(path string, err error) Problem {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return Problem{path, pe.StartLine, fmt.Sprintf("%v (a field holding a quote must be quoted as a whole, its quotes doubled); entry skipped", pe.Err)}
	}
	return Problem{path, 0, err.Error()}
}
