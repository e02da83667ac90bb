package config

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// nodeError reports a bad value the way yaml.v3 reports its own type errors
// ("line N: …"), so that Load can put the file name in front of both alike.
func nodeError(n *yaml.Node, err error) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
}

// decodeScalar sets *dst to the value parse reads from a scalar node, for
// the UnmarshalYAML methods of types written as one string ("2Mbit").
func decodeScalar[T any](n *yaml.Node, parse func(string) (T, error), dst *T) error {
	v, err := parse(n.Value)
	if err != nil {
		return nodeError(n, err)
	}
	*dst = v
	return nil
}

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// splitYAMLLine takes the "line N:" that yaml.v3 puts into its messages apart
// into the line number and the rest; line is 0 when the message has none.
func splitYAMLLine(msg string) (line int, rest string) {
	m := yamlLineRE.FindStringSubmatch(msg)
	if m == nil {
		return 0, strings.TrimPrefix(msg, "yaml: ")
	}
	line, _ = strconv.Atoi(m[1])
	return line, m[2]
}

// yamlErrors turns an error from yaml.v3 into one Problem per message it
// holds, each with the file and line it concerns.
func yamlErrors(file string, err error) []Problem {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		line, msg := splitYAMLLine(err.Error())
		return []Problem{{File: file, Line: line, Msg: msg}}
	}
	var ps []Problem
	for _, e := range te.Errors {
		line, msg := splitYAMLLine(e)
		ps = append(ps, Problem{File: file, Line: line, Msg: msg})
	}
	return ps
}

// keyLines records, for each key of a YAML document, the line of its value,
// by dotted path ("thumbnails.quality"), so that checks made after decoding
// can still say where the value was written.
type keyLines map[string]int

// checkKeys walks the YAML tree n against the Go type t it will be decoded
// into. It reports every mapping key that t does not have (yaml.v3's own
// KnownFields reports only the first, without the keys it would accept) and
// fills lines.
func checkKeys(file string, n *yaml.Node, t reflect.Type, path string, lines keyLines) []Problem {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.Unmarshaler]()) {
		return nil
	}
	var ps []Problem
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		known := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			f, ok := known[k.Value]
			if !ok {
				ps = append(ps, Problem{File: file, Line: k.Line, Msg: unknownKey(k.Value, path, known)})
				continue
			}
			lines[path+k.Value] = v.Line
			ps = append(ps, checkKeys(file, v, f.Type, path+k.Value+".", lines)...)
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, v := range n.Content {
			lines[path+strconv.Itoa(i+1)] = v.Line
			ps = append(ps, checkKeys(file, v, t.Elem(), path+strconv.Itoa(i+1)+".", lines)...)
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			lines[path+k.Value] = v.Line
			ps = append(ps, checkKeys(file, v, t.Elem(), path+k.Value+".", lines)...)
		}
	}
	return ps
}

// yamlFields maps the YAML key of each field of struct type t to the field.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	m := make(map[string]reflect.StructField)
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = strings.ToLower(f.Name)
		}
		m[name] = f
	}
	return m
}

func unknownKey(key, path string, known map[string]reflect.StructField) string {
	names := slices.Sorted(maps.Keys(known))
	where := ""
	if path != "" {
		where = " in " + strings.TrimSuffix(path, ".")
	}
	msg := fmt.Sprintf("unknown key %q%s", key, where)
	for _, k := range names {
		if strings.EqualFold(strings.ReplaceAll(key, "-", "_"), k) {
			return msg + fmt.Sprintf("; did you mean %q?", k)
		}
	}
	return msg + "; known keys: " + strings.Join(names, ", ")
}
