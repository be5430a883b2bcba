package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
)

// Limits on definitions, chosen so that any accepted document is cheap to
// parse, store and convert.
const (
	// MaxDefinitionSize is the largest definition Import accepts, in bytes.
	MaxDefinitionSize = 5 << 20
	// MaxDepth is the deepest nesting of objects and arrays accepted, the
	// document's root object being level 1.
	MaxDepth = 64
	// MaxYAMLAliases is the most YAML alias expansions (*name) accepted in
	// one document, counting the aliases inside expanded content.
	MaxYAMLAliases = 100
	// maxNodes bounds the values a decoded document may hold, aliases
	// expanded.
	maxNodes = 1_000_000
)

const definitionField = "definition"

// decodeDocument decodes a JSON or YAML definition into generic values
// (map[string]any, []any, string, json.Number, bool and nil), refusing what
// breaks the limits above. Every error is a *ValidationError.
func decodeDocument(data []byte) (map[string]any, error) {
	if len(data) > MaxDefinitionSize {
		return nil, invalid(definitionField, "the definition is %d bytes; the limit is %d (5 MiB)", len(data), MaxDefinitionSize)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, invalid(definitionField, "the definition is empty")
	}
	isJSON := trimmed[0] == '{' || trimmed[0] == '['
	if line, ok := withinDepth(data, isJSON, MaxDepth); !ok {
		return nil, invalid(definitionField, "line %d: the definition is nested deeper than %d levels", line, MaxDepth)
	}
	var v any
	var err error
	if isJSON {
		v, err = decodeJSON(data)
	} else {
		// The YAML parser is third-party code fed with hostile input.
		err = protect(func() (err error) {
			v, err = decodeYAML(data)
			return err
		})
	}
	var ve *ValidationError
	if err != nil && !errors.As(err, &ve) {
		return nil, invalid(definitionField, "malformed YAML: %v", err)
	}
	if err != nil {
		return nil, err
	}
	root, ok := v.(map[string]any)
	if !ok {
		return nil, invalid(definitionField, "the definition must be an object with an openapi or swagger field, not %s", describe(v))
	}
	return root, nil
}

func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			line, col := lineColumn(data, syn.Offset-1) // Offset is just past the bad byte
			return nil, invalid(definitionField, "malformed JSON at line %d, column %d: %v", line, col, syn)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, invalid(definitionField, "malformed JSON: the document ends too early")
		}
		return nil, invalid(definitionField, "malformed JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		line, col := lineColumn(data, dec.InputOffset())
		return nil, invalid(definitionField, "malformed JSON at line %d, column %d: unexpected data after the document", line, col)
	}
	return v, nil
}

// lineColumn returns the 1-based line and column of a byte offset.
func lineColumn(data []byte, offset int64) (int, int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	if offset < 0 {
		offset = 0
	}
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(offset) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

func decodeYAML(data []byte) (any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		var le *yaml.LoadError
		if errors.As(err, &le) && le.Mark.Line > 0 {
			return nil, invalid(definitionField, "malformed YAML at line %d, column %d: %s", le.Mark.Line, le.Mark.Column, le.Message)
		}
		return nil, invalid(definitionField, "malformed YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if doc.Kind == 0 || doc.Kind == yaml.DocumentNode && len(doc.Content) == 0 {
		return nil, invalid(definitionField, "the definition is empty")
	}
	node := &doc
	if doc.Kind == yaml.DocumentNode {
		node = doc.Content[0]
	}
	c := yamlConverter{}
	return c.convert(node, 1)
}

// yamlConverter turns a yaml.Node tree into generic values, expanding
// aliases within budgets.
type yamlConverter struct {
	aliases int
	nodes   int
	// expanding holds the anchors being expanded, against self-reference.
	expanding []*yaml.Node
}

func (c *yamlConverter) convert(n *yaml.Node, depth int) (any, error) {
	c.nodes++
	if c.nodes > maxNodes {
		return nil, invalid(definitionField, "line %d: the definition holds more than %d values", n.Line, maxNodes)
	}
	switch n.Kind {
	case yaml.AliasNode:
		return c.convertAlias(n, depth)
	case yaml.ScalarNode:
		return yamlScalar(n), nil
	case yaml.SequenceNode:
		if depth > MaxDepth {
			return nil, invalid(definitionField, "line %d: the definition is nested deeper than %d levels", n.Line, MaxDepth)
		}
		out := make([]any, 0, len(n.Content))
		for _, item := range n.Content {
			v, err := c.convert(item, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		if depth > MaxDepth {
			return nil, invalid(definitionField, "line %d: the definition is nested deeper than %d levels", n.Line, MaxDepth)
		}
		return c.convertMapping(n, depth)
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.convert(n.Content[0], depth)
	}
	return nil, invalid(definitionField, "line %d: unsupported YAML node", n.Line)
}

func (c *yamlConverter) convertAlias(n *yaml.Node, depth int) (any, error) {
	c.aliases++
	if c.aliases > MaxYAMLAliases {
		return nil, invalid(definitionField, "line %d: the definition expands more than %d YAML aliases", n.Line, MaxYAMLAliases)
	}
	if n.Alias == nil {
		return nil, invalid(definitionField, "line %d: YAML alias %q has no anchor", n.Line, n.Value)
	}
	for _, a := range c.expanding {
		if a == n.Alias {
			return nil, invalid(definitionField, "line %d: YAML alias *%s refers to itself", n.Line, n.Alias.Anchor)
		}
	}
	c.expanding = append(c.expanding, n.Alias)
	defer func() { c.expanding = c.expanding[:len(c.expanding)-1] }()
	return c.convert(n.Alias, depth)
}

func (c *yamlConverter) convertMapping(n *yaml.Node, depth int) (any, error) {
	out := make(map[string]any, len(n.Content)/2)
	var merges []map[string]any
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			m, err := c.mergeSources(v, depth)
			if err != nil {
				return nil, err
			}
			merges = append(merges, m...)
			continue
		}
		key, err := c.mappingKey(k)
		if err != nil {
			return nil, err
		}
		if _, dup := out[key]; dup {
			return nil, invalid(definitionField, "line %d, column %d: duplicate key %q", k.Line, k.Column, key)
		}
		val, err := c.convert(v, depth+1)
		if err != nil {
			return nil, err
		}
		out[key] = val
	}
	// Explicit keys win over merged ones, earlier merge sources over later.
	for _, m := range merges {
		for k, v := range m {
			if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
	}
	return out, nil
}

// mergeSources converts the value of a "<<" merge key: a mapping or a
// sequence of mappings, usually aliases.
func (c *yamlConverter) mergeSources(v *yaml.Node, depth int) ([]map[string]any, error) {
	target := v
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		target = v.Alias
	}
	items := []*yaml.Node{v}
	if target.Kind == yaml.SequenceNode {
		items = target.Content
	}
	var out []map[string]any
	for _, item := range items {
		val, err := c.convert(item, depth)
		if err != nil {
			return nil, err
		}
		m, ok := val.(map[string]any)
		if !ok {
			return nil, invalid(definitionField, "line %d: a YAML merge key (<<) needs a mapping", item.Line)
		}
		out = append(out, m)
	}
	return out, nil
}

func (c *yamlConverter) mappingKey(k *yaml.Node) (string, error) {
	if k.Kind == yaml.AliasNode && k.Alias != nil {
		c.aliases++
		if c.aliases > MaxYAMLAliases {
			return "", invalid(definitionField, "line %d: the definition expands more than %d YAML aliases", k.Line, MaxYAMLAliases)
		}
		k = k.Alias
	}
	if k.Kind != yaml.ScalarNode {
		return "", invalid(definitionField, "line %d, column %d: a mapping key must be a string, not a collection", k.Line, k.Column)
	}
	if k.ShortTag() == "!!null" {
		return "", invalid(definitionField, "line %d, column %d: a mapping key must not be null", k.Line, k.Column)
	}
	return k.Value, nil
}

// yamlScalar returns the generic value of a scalar: numbers as json.Number
// (keeping the text when it is a valid JSON number, so 2.0 stays 2.0),
// booleans, nil, and everything else (timestamps, binary, custom tags) as the
// string it was written as.
func yamlScalar(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err == nil {
			return b
		}
	case "!!int":
		if isJSONNumber(n.Value) {
			return json.Number(n.Value)
		}
		var v any
		if err := n.Decode(&v); err == nil {
			switch v.(type) {
			case int, int64, uint64:
				return json.Number(fmt.Sprint(v))
			}
		}
	case "!!float":
		if isJSONNumber(n.Value) {
			return json.Number(n.Value)
		}
		var f float64
		if err := n.Decode(&f); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
		}
	}
	return n.Value
}

func isJSONNumber(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	var n json.Number
	return json.Unmarshal([]byte(s), &n) == nil && strings.TrimSpace(s) == s
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

// withinDepth is a cheap scan, run before any parser, that refuses
// documents nested deeper than limit. For JSON it counts brackets outside
// strings. For YAML it counts indentation levels, "- " sequence entries and
// flow brackets where a value starts, skipping comments, quoted strings and
// block scalars; it is an estimate, and the YAML converter checks the exact
// depth afterwards. It returns the 1-based line where the limit was passed.
func withinDepth(data []byte, isJSON bool, limit int) (int, bool) {
	if isJSON {
		return jsonWithinDepth(data, limit)
	}
	return yamlWithinDepth(data, limit)
}

func jsonWithinDepth(data []byte, limit int) (int, bool) {
	depth, line := 0, 1
	inString, escaped := false, false
	for _, c := range data {
		if c == '\n' {
			line++
		}
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > limit {
				return line, false
			}
		case '}', ']':
			if depth > 0 {
				depth--
			}
		}
	}
	return line, true
}

// yamlScanner holds the state of yamlWithinDepth across lines.
type yamlScanner struct {
	limit  int
	indent []int // indentation of the open block collections
	flow   int   // open flow collections ([ or {)
	// blockScalar is the indentation of the line that opened a literal or
	// folded block scalar (| or >), -1 when not in one.
	blockScalar int
	// quote is the open quote character of a flow scalar spanning lines.
	quote byte
}

func yamlWithinDepth(data []byte, limit int) (int, bool) {
	s := yamlScanner{limit: limit, blockScalar: -1}
	for n, line := 1, data; len(line) > 0 || n == 1; n++ {
		var cur []byte
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			cur, line = line[:i], line[i+1:]
		} else {
			cur, line = line, nil
		}
		if !s.scanLine(bytes.TrimRight(cur, "\r")) {
			return n, false
		}
		if line == nil {
			break
		}
	}
	return 0, true
}

func (s *yamlScanner) depth() int { return len(s.indent) + s.flow }

// scanLine scans one line and reports whether the depth stays within limit.
func (s *yamlScanner) scanLine(line []byte) bool {
	indent := 0
	for indent < len(line) && line[indent] == ' ' {
		indent++
	}
	rest := line[indent:]
	blank := len(bytes.TrimSpace(rest)) == 0
	if s.blockScalar >= 0 {
		if blank || indent > s.blockScalar {
			return true
		}
		s.blockScalar = -1
	}
	if s.quote != 0 {
		pos, ok := s.skipQuoted(line, 0)
		if !ok {
			return true
		}
		return s.scanFlow(line, pos)
	}
	if s.flow > 0 {
		return s.scanFlow(line, 0)
	}
	if blank || rest[0] == '#' || bytes.HasPrefix(rest, []byte("---")) || bytes.HasPrefix(rest, []byte("...")) || rest[0] == '%' {
		return true
	}
	lineIndent := indent
	// Close the block collections this line is not inside.
	for len(s.indent) > 0 && s.indent[len(s.indent)-1] >= indent {
		s.indent = s.indent[:len(s.indent)-1]
	}
	s.indent = append(s.indent, indent)
	// Each "- " opens one more level: "- - x" is a sequence in a sequence.
	pos := indent
	for pos < len(line) && line[pos] == '-' && (pos+1 == len(line) || line[pos+1] == ' ') {
		pos++
		for pos < len(line) && line[pos] == ' ' {
			pos++
		}
		s.indent = append(s.indent, pos)
	}
	if s.depth() > s.limit {
		return false
	}
	return s.scanValue(line, pos, lineIndent)
}

// scanValue looks at what starts at pos: a flow collection, a quoted
// scalar, a block scalar indicator, or a "key: value" pair.
func (s *yamlScanner) scanValue(line []byte, pos, lineIndent int) bool {
	for pos < len(line) && line[pos] == ' ' {
		pos++
	}
	if pos >= len(line) {
		return true
	}
	switch line[pos] {
	case '[', '{':
		return s.scanFlow(line, pos)
	case '|', '>':
		s.blockScalar = lineIndent
		return true
	case '#':
		return true
	case '"', '\'':
		s.quote = line[pos]
		end, ok := s.skipQuoted(line, pos+1)
		if !ok {
			return true
		}
		// A quoted key: look for its value.
		return s.scanAfterKey(line, end, lineIndent)
	}
	// A plain scalar or a plain key.
	return s.scanAfterKey(line, pos, lineIndent)
}

// scanAfterKey finds ": " after a key that starts or ends at pos and scans
// the value after it.
func (s *yamlScanner) scanAfterKey(line []byte, pos, lineIndent int) bool {
	for i := pos; i < len(line); i++ {
		switch {
		case line[i] == '#' && i > 0 && line[i-1] == ' ':
			return true
		case line[i] == ':' && (i+1 == len(line) || line[i+1] == ' '):
			// The value of a key is one level deeper than the key.
			return s.scanValue(line, i+1, lineIndent)
		}
	}
	return true
}

// skipQuoted skips a quoted scalar whose opening quote is s.quote, from pos,
// and returns the position after the closing quote, or false when the
// scalar goes on to the next line.
func (s *yamlScanner) skipQuoted(line []byte, pos int) (int, bool) {
	for i := pos; i < len(line); i++ {
		c := line[i]
		switch {
		case s.quote == '"' && c == '\\':
			i++
		case c == s.quote:
			if s.quote == '\'' && i+1 < len(line) && line[i+1] == '\'' {
				i++
				continue
			}
			s.quote = 0
			return i + 1, true
		}
	}
	return len(line), false
}

// scanFlow scans flow content ([...] and {...}) from pos.
func (s *yamlScanner) scanFlow(line []byte, pos int) bool {
	prev := byte('[') // quotes open a scalar only where a value starts
	for i := pos; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '[' || c == '{':
			s.flow++
			if s.depth() > s.limit {
				return false
			}
		case c == ']' || c == '}':
			if s.flow > 0 {
				s.flow--
			}
			if s.flow == 0 {
				return true
			}
		case (c == '"' || c == '\'') && strings.IndexByte("[{,: ", prev) >= 0:
			s.quote = c
			end, ok := s.skipQuoted(line, i+1)
			if !ok {
				return true
			}
			i = end - 1
		case c == '#' && prev == ' ':
			return true
		}
		prev = c
	}
	return true
}
