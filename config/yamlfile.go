package config

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// parseYAMLKiosks reads a kiosk file in YAML (or JSON, a subset of it): a
// list of kiosks, each a mapping with the keys of the CSV columns, either at
// the top or under "kiosks:". ok is false when the file as a whole is unusable.
//
// Values are taken as written, before YAML typing, so that an id such as 0012
// keeps its zeros and a numeric password stays a password.
func parseYAMLKiosks(fc *fileContext, data []byte) (ks []Kiosk, ps []Problem, ok bool) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlErrors(fc.path, err), false
	}
	// A file with nothing but a document marker ("---") is empty too; YAML
	// places its null value on a line the file may not have.
	if len(root.Content) == 0 || root.Content[0].Kind == yaml.ScalarNode && root.Content[0].Tag == "!!null" {
		return nil, []Problem{{fc.path, 0, "the file is empty; write a list of kiosks (or [] for none)"}}, false
	}
	list := root.Content[0]
	if list.Kind == yaml.MappingNode {
		var under *yaml.Node
		for i := 0; i+1 < len(list.Content); i += 2 {
			if k := list.Content[i]; k.Value == "kiosks" {
				under = list.Content[i+1]
			} else {
				ps = append(ps, Problem{fc.path, k.Line, fmt.Sprintf("ignoring unknown key %q; the kiosks go in a list under kiosks:", k.Value)})
			}
		}
		if under == nil {
			return nil, []Problem{{fc.path, list.Line, "no kiosks: key; write a list of kiosks, at the top or under kiosks:"}}, false
		}
		list = under
	}
	if list.Kind != yaml.SequenceNode {
		return nil, []Problem{{fc.path, list.Line, "want a list of kiosks, each with id:, host: and so on"}}, false
	}
	unknown := make(map[string]int) // key → first line it is on
	var unknownOrder []string
	for _, item := range list.Content {
		if item.Kind != yaml.MappingNode {
			ps = append(ps, Problem{fc.path, item.Line, "a kiosk is a mapping of id:, host: and so on; entry skipped"})
			continue
		}
		values := make(map[string]string)
		var errs []string
		for i := 0; i+1 < len(item.Content); i += 2 {
			key := strings.ToLower(item.Content[i].Value)
			if !slices.Contains(columns, key) {
				if _, seen := unknown[key]; !seen {
					unknown[key] = item.Content[i].Line
					unknownOrder = append(unknownOrder, key)
				}
				continue
			}
			if _, dup := values[key]; dup {
				errs = append(errs, fmt.Sprintf("%s given twice", key))
				continue
			}
			v, err := yamlValue(key, item.Content[i+1])
			if err != nil {
				errs = append(errs, err.Error())
			}
			values[key] = v
		}
		if len(errs) > 0 {
			ps = append(ps, Problem{fc.path, item.Line, strings.Join(errs, "; ") + "; entry skipped"})
			continue
		}
		k, p := fc.kiosk(values, item.Line)
		if p != nil {
			ps = append(ps, *p)
			continue
		}
		ks = append(ks, k)
	}
	if len(unknownOrder) > 0 {
		var names []string
		for _, k := range unknownOrder {
			names = append(names, fmt.Sprintf("%q (line %d)", k, unknown[k]))
		}
		ps = append(ps, Problem{fc.path, unknown[unknownOrder[0]], fmt.Sprintf("ignoring unknown keys %s; known keys: %s",
			strings.Join(names, ", "), strings.Join(columns, ", "))})
	}
	return ks, ps, true
}

// yamlValue gives the text of a kiosk field. Tags may also be a YAML list.
func yamlValue(key string, n *yaml.Node) (string, error) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return "", nil
	case n.Kind == yaml.ScalarNode:
		return n.Value, nil
	case n.Kind == yaml.SequenceNode && key == "tags":
		var tags []string
		for _, t := range n.Content {
			if t.Kind != yaml.ScalarNode {
				return "", fmt.Errorf("tags: line %d: a tag is a single word or phrase", t.Line)
			}
			tags = append(tags, t.Value)
		}
		return strings.Join(tags, ";"), nil
	}
	return "", fmt.Errorf("%s: want a single value", key)
}
