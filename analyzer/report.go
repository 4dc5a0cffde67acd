package analyzer

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the analysis as indented JSON.
func (a *Analysis) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(a)
}

// WriteText writes the analysis as tables for people: the main loop, the
// loops, log statements, checkpoints, skip blocks with their effects and
// the main loop's carried state, then the diagnostics. Files are named by
// their base names.
func (a *Analysis) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "package %s\n", a.Pkg)
	if m := a.MainLoop; m != nil {
		fmt.Fprintf(&b, "main loop %q at %s%s\n", m.Name, m.Pos, via(m.Via))
		fmt.Fprintf(&b, "prefix %s\n", spans(a.Prefix))
		fmt.Fprintf(&b, "suffix %s\n", spans(a.Suffix))
	} else {
		b.WriteString("no main loop\n")
	}

	table := func(title string, header string, rows [][]string) {
		if len(rows) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s:\n", title)
		tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
		fmt.Fprintf(tw, "  %s\n", header)
		for _, r := range rows {
			fmt.Fprintf(tw, "  %s\n", strings.Join(r, "\t"))
		}
		tw.Flush()
	}

	var rows [][]string
	for _, l := range a.Loops {
		rows = append(rows, []string{string(l.Kind), dash(l.Name), l.Pos.String() + via(l.Via),
			fmt.Sprint(l.Depth), fmt.Sprint(l.FlorDepth), dash(l.Parent), string(l.Phase)})
	}
	table("loops", "KIND\tNAME\tPOS\tDEPTH\tFLOR\tPARENT\tPHASE", rows)

	rows = nil
	for _, l := range a.Logs {
		rows = append(rows, []string{string(l.Kind), dash(l.Name), l.Pos.String() + via(l.Via),
			fmt.Sprint(l.Depth), dash(strings.Join(l.Loops, "/")), string(l.Phase), dash(l.Block)})
	}
	table("logs", "KIND\tNAME\tPOS\tDEPTH\tLOOPS\tPHASE\tBLOCK", rows)

	rows = nil
	for _, l := range a.Logs {
		if l.Elide == nil {
			continue
		}
		ok := "no"
		if l.Elide.OK {
			ok = "yes"
		}
		rows = append(rows, []string{dash(l.Name), l.Pos.String() + via(l.Via), ok, l.Elide.Why})
	}
	table("skipped in replay when no value is kept", "NAME\tPOS\tELIDABLE\tWHY", rows)

	rows = nil
	for _, r := range a.Checkpoints {
		rows = append(rows, []string{r.Name, r.Object, r.Pos.String(), string(r.Phase)})
	}
	table("checkpoints", "NAME\tOBJECT\tPOS\tPHASE", rows)

	for _, bl := range a.Blocks {
		id := bl.ID
		if id == "" {
			id = "(no id)"
		}
		fmt.Fprintf(&b, "\nblock %s: %s loop at %s%s", id, bl.Kind, bl.Pos, via(bl.Via))
		switch {
		case !bl.Skippable:
			fmt.Fprintf(&b, ", not skippable: %s", bl.Reason)
		case len(bl.Via) > 0:
			b.WriteString(", skipped by the runtime (not instrumented)")
		case bl.Instrumented:
			b.WriteString(", skippable, instrumented")
		default:
			b.WriteString(", skippable")
		}
		if len(bl.Extras) > 0 {
			fmt.Fprintf(&b, "; extras %s", strings.Join(bl.Extras, ", "))
		}
		b.WriteString("\n")
		if len(bl.Effects) == 0 {
			b.WriteString("  no effects\n")
			continue
		}
		effects(&b, "READ AFTER", bl.Effects)
	}

	if len(a.Carried) > 0 {
		b.WriteString("\ncarried state (changed in the main loop, outside its blocks):\n")
		effects(&b, "READ AGAIN", a.Carried)
	}

	if len(a.Diagnostics) > 0 {
		b.WriteString("\n")
	}
	for _, d := range a.Diagnostics {
		fmt.Fprintf(&b, "%s: %s\n", d.Severity, d.Error())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// effects writes a table of effects.
func effects(b *strings.Builder, readTitle string, es []*Effect) {
	tw := tabwriter.NewWriter(b, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "  KIND\tSTATE\tPOS\tWHAT\tRESTORED\t%s\n", readTitle)
	for _, e := range es {
		restored := "no"
		switch {
		case e.Checkpoint != "":
			restored = fmt.Sprintf("checkpoint %q", e.Checkpoint)
		case e.Extra != "":
			restored = "extra " + e.Extra
		case e.Note != "":
			restored = "no: " + e.Note
		}
		read := "-"
		if e.ReadAt.File != "" {
			read = e.ReadAt.Short()
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", e.Kind, dash(e.Var), e.Pos, e.Desc, restored, read)
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func via(ps []Pos) string {
	if len(ps) == 0 {
		return ""
	}
	var parts []string
	for _, p := range ps {
		parts = append(parts, p.Short())
	}
	return " via " + strings.Join(parts, ",")
}

func spans(ss []Span) string {
	var parts []string
	for _, s := range ss {
		parts = append(parts, s.String())
	}
	return dash(strings.Join(parts, " "))
}
