package gqlschema

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
	"github.com/vektah/gqlparser/v2/parser"
)

// IntrospectionQuery is the standard introspection query (types, fields with arguments,
// enums, inputs, interfaces, unions; directive definitions are not read).
const IntrospectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}`

type introResponse struct {
	Data *struct {
		Schema *introSchema `json:"__schema"`
	} `json:"data"`
	Errors []struct {
		Message string `json:"message"`
	} `json:"errors"`
}

type introSchema struct {
	QueryType        *introName  `json:"queryType"`
	MutationType     *introName  `json:"mutationType"`
	SubscriptionType *introName  `json:"subscriptionType"`
	Types            []introType `json:"types"`
}

type introName struct {
	Name string `json:"name"`
}

type introType struct {
	Kind          string       `json:"kind"`
	Name          string       `json:"name"`
	Description   *string      `json:"description"`
	Fields        []introField `json:"fields"`
	InputFields   []introInput `json:"inputFields"`
	Interfaces    []introRef   `json:"interfaces"`
	EnumValues    []introEnum  `json:"enumValues"`
	PossibleTypes []introRef   `json:"possibleTypes"`
}

type introField struct {
	Name              string       `json:"name"`
	Description       *string      `json:"description"`
	Args              []introInput `json:"args"`
	Type              *introRef    `json:"type"`
	IsDeprecated      bool         `json:"isDeprecated"`
	DeprecationReason *string      `json:"deprecationReason"`
}

type introInput struct {
	Name         string    `json:"name"`
	Description  *string   `json:"description"`
	Type         *introRef `json:"type"`
	DefaultValue *string   `json:"defaultValue"`
}

type introEnum struct {
	Name              string  `json:"name"`
	Description       *string `json:"description"`
	IsDeprecated      bool    `json:"isDeprecated"`
	DeprecationReason *string `json:"deprecationReason"`
}

type introRef struct {
	Kind   string    `json:"kind"`
	Name   *string   `json:"name"`
	OfType *introRef `json:"ofType"`
}

var builtinScalars = map[string]bool{"Int": true, "Float": true, "String": true, "Boolean": true, "ID": true}

// FromIntrospection converts the JSON answer to IntrospectionQuery into SDL, checked by
// Load. An answer with errors, without data or with types the SDL cannot express is an
// error saying why.
func FromIntrospection(body []byte) (string, error) {
	var resp introResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return "", fmt.Errorf("the answer is not a GraphQL JSON response: %v", err)
	}
	if len(resp.Errors) > 0 {
		return "", fmt.Errorf("the endpoint answered with errors: %s", resp.Errors[0].Message)
	}
	if resp.Data == nil || resp.Data.Schema == nil {
		return "", fmt.Errorf("the answer holds no data.__schema")
	}
	is := resp.Data.Schema
	if is.QueryType == nil || is.QueryType.Name == "" {
		return "", fmt.Errorf("the schema has no query type")
	}
	doc := &ast.SchemaDocument{}
	roots := map[ast.Operation]string{ast.Query: is.QueryType.Name}
	if is.MutationType != nil {
		roots[ast.Mutation] = is.MutationType.Name
	}
	if is.SubscriptionType != nil {
		roots[ast.Subscription] = is.SubscriptionType.Name
	}
	// The SDL names its root types unless they are the defaults and no other type takes a
	// default name (a type called Subscription would otherwise become the subscription root).
	named := map[string]bool{}
	for _, t := range is.Types {
		named[t.Name] = true
	}
	explicit := false
	for op, def := range map[ast.Operation]string{ast.Query: "Query", ast.Mutation: "Mutation", ast.Subscription: "Subscription"} {
		if roots[op] != def && (roots[op] != "" || named[def]) {
			explicit = true
		}
	}
	if explicit {
		sd := &ast.SchemaDefinition{}
		for _, op := range []ast.Operation{ast.Query, ast.Mutation, ast.Subscription} {
			if roots[op] != "" {
				sd.OperationTypes = append(sd.OperationTypes, &ast.OperationTypeDefinition{Operation: op, Type: roots[op]})
			}
		}
		doc.Schema = append(doc.Schema, sd)
	}
	for _, t := range is.Types {
		if strings.HasPrefix(t.Name, "__") || builtinScalars[t.Name] {
			continue
		}
		def, err := definitionOf(t)
		if err != nil {
			return "", err
		}
		doc.Definitions = append(doc.Definitions, def)
	}
	var b strings.Builder
	formatter.NewFormatter(&b, formatter.WithIndent("  ")).FormatSchemaDocument(doc)
	sdl := b.String()
	if _, err := Load(sdl); err != nil {
		return "", fmt.Errorf("the introspected schema does not load: %v", err)
	}
	return sdl, nil
}

func definitionOf(t introType) (*ast.Definition, error) {
	def := &ast.Definition{Name: t.Name, Description: deref(t.Description)}
	switch t.Kind {
	case "SCALAR":
		def.Kind = ast.Scalar
	case "OBJECT", "INTERFACE":
		def.Kind = ast.Object
		if t.Kind == "INTERFACE" {
			def.Kind = ast.Interface
		}
		for _, i := range t.Interfaces {
			def.Interfaces = append(def.Interfaces, deref(i.Name))
		}
		for _, f := range t.Fields {
			typ, err := typeOf(f.Type)
			if err != nil {
				return nil, fmt.Errorf("type %s field %s: %v", t.Name, f.Name, err)
			}
			fd := &ast.FieldDefinition{Name: f.Name, Description: deref(f.Description), Type: typ}
			for _, a := range f.Args {
				ad, err := argumentOf(a)
				if err != nil {
					return nil, fmt.Errorf("type %s field %s argument %s: %v", t.Name, f.Name, a.Name, err)
				}
				fd.Arguments = append(fd.Arguments, ad)
			}
			if f.IsDeprecated {
				fd.Directives = append(fd.Directives, deprecated(f.DeprecationReason))
			}
			def.Fields = append(def.Fields, fd)
		}
	case "UNION":
		def.Kind = ast.Union
		for _, p := range t.PossibleTypes {
			def.Types = append(def.Types, deref(p.Name))
		}
	case "ENUM":
		def.Kind = ast.Enum
		for _, v := range t.EnumValues {
			ev := &ast.EnumValueDefinition{Name: v.Name, Description: deref(v.Description)}
			if v.IsDeprecated {
				ev.Directives = append(ev.Directives, deprecated(v.DeprecationReason))
			}
			def.EnumValues = append(def.EnumValues, ev)
		}
	case "INPUT_OBJECT":
		def.Kind = ast.InputObject
		for _, f := range t.InputFields {
			fd, err := argumentOf(f)
			if err != nil {
				return nil, fmt.Errorf("input %s field %s: %v", t.Name, f.Name, err)
			}
			def.Fields = append(def.Fields, &ast.FieldDefinition{Name: fd.Name, Description: fd.Description, Type: fd.Type, DefaultValue: fd.DefaultValue})
		}
	default:
		return nil, fmt.Errorf("type %s has kind %q, which is not a GraphQL type kind", t.Name, t.Kind)
	}
	return def, nil
}

func argumentOf(a introInput) (*ast.ArgumentDefinition, error) {
	typ, err := typeOf(a.Type)
	if err != nil {
		return nil, err
	}
	ad := &ast.ArgumentDefinition{Name: a.Name, Description: deref(a.Description), Type: typ}
	if a.DefaultValue != nil {
		v, err := parseValue(*a.DefaultValue)
		if err != nil {
			return nil, fmt.Errorf("default value %q: %v", *a.DefaultValue, err)
		}
		ad.DefaultValue = v
	}
	return ad, nil
}

// parseValue reads a GraphQL literal (an introspected default value) by parsing it as the
// default of a variable.
func parseValue(lit string) (*ast.Value, error) {
	doc, err := parseQuery("query($v: Int = " + lit + ") { x }")
	if err != nil {
		return nil, err
	}
	return doc.Operations[0].VariableDefinitions[0].DefaultValue, nil
}

func typeOf(r *introRef) (*ast.Type, error) {
	for depth := 0; r != nil && depth < 16; depth++ {
		switch r.Kind {
		case "NON_NULL":
			inner, err := typeOf(r.OfType)
			if err != nil {
				return nil, err
			}
			inner.NonNull = true
			return inner, nil
		case "LIST":
			inner, err := typeOf(r.OfType)
			if err != nil {
				return nil, err
			}
			return ast.ListType(inner, nil), nil
		default:
			if r.Name == nil || *r.Name == "" {
				return nil, fmt.Errorf("a %s type reference without a name", r.Kind)
			}
			return ast.NamedType(*r.Name, nil), nil
		}
	}
	return nil, fmt.Errorf("a missing or too deeply wrapped type reference")
}

func deprecated(reason *string) *ast.Directive {
	d := &ast.Directive{Name: "deprecated"}
	if reason != nil && *reason != "" && *reason != "No longer supported" {
		d.Arguments = ast.ArgumentList{{Name: "reason", Value: &ast.Value{Kind: ast.StringValue, Raw: *reason}}}
	}
	return d
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func parseQuery(q string) (*ast.QueryDocument, error) {
	doc, err := parser.ParseQuery(&ast.Source{Input: q})
	if err != nil {
		return nil, toError(err)
	}
	return doc, nil
}
