package attestation

import (
	"fmt"
	"strconv"

	"github.com/johnfercher/maroto/v2/pkg/components/col"
	"github.com/johnfercher/maroto/v2/pkg/components/page"
	"github.com/johnfercher/maroto/v2/pkg/components/row"
	"github.com/johnfercher/maroto/v2/pkg/components/text"
	"github.com/johnfercher/maroto/v2/pkg/consts/align"
	"github.com/johnfercher/maroto/v2/pkg/consts/border"
	"github.com/johnfercher/maroto/v2/pkg/core"
	"github.com/johnfercher/maroto/v2/pkg/props"

	"github.com/cpam/attestd/rules"
)

// Font sizes, in points.
const (
	sizeTitle   = 18.0
	sizeSection = 11.0
	sizeBody    = 9.0
	sizeTable   = 7.5
	sizeSmall   = 7.0
	sizeMin     = 6.0 // smallest size a cell shrinks to before it wraps
)

// ptToMM converts a font size to the height of its em box in millimetres.
const ptToMM = 25.4 / 72

// pageWidth is the printable width of the A4 page, in millimetres.
const pageWidth = 210 - 2*marginSide

// cellPad is the space between a cell's edge and its text, in millimetres.
const cellPad = 1.0

// textBottom is the room under a line's baseline, for descenders, in
// millimetres.
const textBottom = 1.2

// The colours. Each call returns a new value: maroto keeps the pointers it
// is given, and documents rendered concurrently must share nothing.
func colorText() *props.Color   { return &props.Color{Red: 20, Green: 20, Blue: 20} }
func colorMuted() *props.Color  { return &props.Color{Red: 90, Green: 90, Blue: 90} }
func colorBrand() *props.Color  { return &props.Color{Red: 12, Green: 65, Blue: 154} } // Assurance Maladie blue
func colorHeader() *props.Color { return &props.Color{Red: 228, Green: 236, Blue: 247} }
func colorRule() *props.Color   { return &props.Color{Red: 190, Green: 190, Blue: 190} }

// layout turns an AttestationInput into maroto rows. family names the font
// every text uses; metrics measures text so that the cells read back as one
// line each.
type layout struct {
	family  string
	metrics *fontMetrics
	code    *codeImage // the signed code, printed top right; nil: none
}

// build adds the whole attestation to m.
//
// The text is laid out for an unambiguous read-back (ReadAttestation): one
// line "Référence : …"; a beneficiaries table whose rows have their seven
// cells on one baseline (the first name cell shrinks rather than wrap); one
// line per granted mention, "PRÉNOM : <mention> du … au …".
func (l *layout) build(m core.Maroto, in AttestationInput) error {
	day := rules.DateOf(in.IssuedAt)
	if err := m.RegisterFooter(l.footer(day)...); err != nil {
		return fmt.Errorf("laying out the attestation footer: %w", err)
	}
	m.AddRows(l.header(in, day)...)
	m.AddRows(l.insured(in.Compte)...)
	l.beneficiaries(m, in.Decision.Listed)
	m.AddRows(l.mentions(in.Decision.Listed)...)
	return nil
}

// line is one line of text in a cell.
type line struct {
	s     string
	size  float64
	color *props.Color // nil: the body text colour
}

// textAt returns a text component whose baseline is base millimetres below
// the cell's top. Texts of different sizes with the same base share a
// baseline, so a reader sees them as one line.
func (l *layout) textAt(ln line, base float64, a align.Type) core.Component {
	p := props.Text{
		Family: l.family,
		Size:   ln.size,
		Top:    base - ln.size*ptToMM,
		Left:   cellPad,
		Right:  cellPad,
		Bottom: textBottom,
		Align:  a,
		Color:  ln.color,
	}
	return text.New(printable(ln.s), p)
}

// block is a column of lines, the first baseline at top + its size. A line
// wider than the column is broken at spaces into several.
func (l *layout) block(size int, top float64, a align.Type, lines ...line) core.Col {
	width := pageWidth*float64(size)/gridColumns - 2*cellPad
	c := col.New(size)
	base := top
	first := true
	for _, ln := range lines {
		for _, part := range l.metrics.wrap(printable(ln.s), ln.size, width) {
			if first {
				base += ln.size * ptToMM
				first = false
			} else {
				base += ln.size * ptToMM * 1.3
			}
			ln.s = part
			c.Add(l.textAt(ln, base, a))
		}
	}
	return c
}

// header: organisme, date and reference, title.
func (l *layout) header(in AttestationInput, day rules.Date) []core.Row {
	org := in.Compte.Organisme
	orgLines := []line{{s: org.Libelle, size: sizeSection, color: colorBrand()}}
	for _, a := range org.Adresse {
		orgLines = append(orgLines, line{s: a, size: sizeBody})
	}
	orgLines = append(orgLines, line{s: "Code régime caisse centre : " + org.CodeRCC(), size: sizeBody})
	issue := []line{
		{s: "Délivrée le " + day.French(), size: sizeBody},
		{s: "Référence : " + in.Reference, size: sizeBody},
	}
	intro := "L'Assurance Maladie atteste que les personnes désignées ci-dessous ont droit, à la date du " +
		day.French() + ", à la prise en charge de leurs frais de santé."
	// The right block starts lower so that its lines share the left ones' baselines.
	right := l.block(40, (sizeSection-sizeBody)*ptToMM, align.Right, issue...)
	if l.code != nil {
		l.addCode(right, sizeSection*ptToMM+sizeBody*ptToMM*1.3)
	}
	return []core.Row{
		row.New().Add(l.block(60, 0, align.Left, orgLines...), right),
		row.New().Add(l.block(100, 7, align.Left, line{s: attestationTitle, size: sizeTitle, color: colorBrand()})),
		row.New().Add(col.New(100).Add(l.wrapped(intro, sizeBody, 2))),
	}
}

// wrapped is a paragraph that maroto may wrap over several lines.
func (l *layout) wrapped(s string, size, top float64) core.Component {
	return text.New(printable(s), props.Text{
		Family: l.family, Size: size, Top: top, Left: cellPad, Right: cellPad, Bottom: 1.5,
		VerticalPadding: size * ptToMM * 0.3,
	})
}

// section is a heading with a rule under it.
func (l *layout) section(title string) core.Row {
	return row.New().Add(l.block(100, 5, align.Left, line{s: title, size: sizeSection, color: colorBrand()})).
		WithStyle(&props.Cell{BorderType: border.Bottom, BorderColor: colorBrand(), BorderThickness: 0.3})
}

// insured: the ouvrant droit's identity and postal address.
func (l *layout) insured(c *rules.Compte) []core.Row {
	h := c.Holder()
	fields := [][2]string{{"Nom de famille", h.NomFamille}}
	if h.NomUsage != "" {
		fields = append(fields, [2]string{"Nom d'usage", h.NomUsage})
	}
	fields = append(fields,
		[2]string{"Prénom", h.Prenom},
		[2]string{"Date de naissance", h.DateNaissance.French()},
		[2]string{"N° de sécurité sociale", nirText(h.NIR)})
	addr := []line{{s: "Adresse postale", size: sizeBody, color: colorMuted()}}
	for _, a := range c.Adresse.Lines() {
		addr = append(addr, line{s: a, size: sizeBody})
	}
	labels, values := l.fields(24, 36, 2, fields)
	return []core.Row{
		l.section("Assuré(e) ouvrant droit"),
		row.New().Add(labels, values, l.block(40, 2, align.Left, addr...)),
	}
}

// fields lays out label/value pairs in two columns of the given widths (in
// percent). A pair takes as many lines as the longer of its label and value
// once broken to fit, so that each value stays beside its label.
func (l *layout) fields(labelWidth, valueWidth int, top float64, pairs [][2]string) (core.Col, core.Col) {
	lw := pageWidth*float64(labelWidth)/gridColumns - 2*cellPad
	vw := pageWidth*float64(valueWidth)/gridColumns - 2*cellPad
	labels, values := col.New(labelWidth), col.New(valueWidth)
	step := sizeBody * ptToMM * 1.3
	base := top + sizeBody*ptToMM
	for _, p := range pairs {
		ls := l.metrics.wrap(printable(p[0]), sizeBody, lw)
		vs := l.metrics.wrap(printable(p[1]), sizeBody, vw)
		for i, s := range ls {
			labels.Add(l.textAt(line{s: s, size: sizeBody, color: colorMuted()}, base+float64(i)*step, align.Left))
		}
		for i, s := range vs {
			values.Add(l.textAt(line{s: s, size: sizeBody}, base+float64(i)*step, align.Left))
		}
		base += float64(max(len(ls), len(vs))) * step
	}
	return labels, values
}

// nirText is a NIR as printed, or a dash when the beneficiary has none of
// his own.
func nirText(nir string) string {
	if nir == "" {
		return "—"
	}
	return rules.FormatNIR(nir)
}

// tableCols are the beneficiaries table's columns: heading and width in
// percent of the page width. ReadAttestation relies on their count and on
// the first name being the second.
var tableCols = [...]struct {
	head  string
	width int
}{
	{"Nom", 18}, {"Prénom", 18}, {"Né(e) le", 10}, {"Rang", 5},
	{"Qualité", 10}, {"N° de sécurité sociale", 17}, {"Droits", 22},
}

// cellWidth is the room for text in table column i, in millimetres.
func cellWidth(i int) float64 { return pageWidth*float64(tableCols[i].width)/100 - 2*cellPad }

// beneficiaries adds the table of the listed beneficiaries to m. A row that
// does not fit on the page starts a new one under a copy of the table's
// heading, so that every page of a large family reads on its own.
func (l *layout) beneficiaries(m core.Maroto, listed []rules.Listed) {
	m.AddRows(l.section("Bénéficiaires"), l.tableHead())
	for _, b := range listed {
		r, height := l.beneficiaryRow(b)
		if m.FitlnCurrentPage(height) {
			m.AddRows(r)
			continue
		}
		m.AddPages(page.New().Add(l.tableHead(), r))
	}
}

// tableHead is the heading row of the beneficiaries table.
func (l *layout) tableHead() core.Row {
	head := row.New().WithStyle(&props.Cell{BackgroundColor: colorHeader()})
	for i, c := range tableCols {
		size := l.metrics.fit(c.head, sizeSmall, sizeMin, cellWidth(i))
		head.Add(l.block(c.width, 1.2, align.Left, line{s: c.head, size: size, color: colorBrand()}))
	}
	return head
}

// beneficiaryRow is one table row. Each cell shrinks to fit its column, so
// that the first name, the date, the NIR and the rights read back whole; only
// what does not fit at the smallest size is broken over several lines. The
// family name cell takes one more line for the usage name. It returns the row
// and its height in millimetres, which is maroto's own measure of it.
func (l *layout) beneficiaryRow(b rules.Listed) (core.Row, float64) {
	cells := [len(tableCols)][]line{
		{{s: b.NomFamille, size: sizeTable}},
		{{s: b.Prenom, size: sizeTable}},
		{{s: b.DateNaissance.French(), size: sizeTable}},
		{{s: strconv.Itoa(b.Rang), size: sizeTable}},
		{{s: b.Qualite.Label(), size: sizeTable}},
		{{s: nirText(b.NIR), size: sizeTable}},
		{{s: b.Rights.French(), size: sizeTable}},
	}
	if b.NomUsage != "" {
		cells[0] = append(cells[0], line{s: "nom d'usage : " + b.NomUsage, size: sizeSmall, color: colorMuted()})
	}
	r := row.New().WithStyle(&props.Cell{BorderType: border.Bottom, BorderColor: colorRule(), BorderThickness: 0.2})
	lowest := 0.0
	for i, texts := range cells {
		var lines []line
		for _, t := range texts {
			s := printable(t.s)
			t.size = l.metrics.fit(s, t.size, sizeMin, cellWidth(i))
			for _, part := range l.metrics.wrap(s, t.size, cellWidth(i)) {
				t.s = part
				lines = append(lines, t)
			}
		}
		// The first lines of all cells share one baseline, whatever their size.
		base := 1.5 + sizeTable*ptToMM
		c := col.New(tableCols[i].width).Add(l.textAt(lines[0], base, align.Left))
		for _, ln := range lines[1:] {
			base += ln.size * ptToMM * 1.3
			c.Add(l.textAt(ln, base, align.Left))
		}
		lowest = max(lowest, base)
		r.Add(c)
	}
	return r, lowest + textBottom
}

// mentions: one line per granted mention, "PRÉNOM : mention période". No
// motif: the reason of an exonération is medical data.
func (l *layout) mentions(listed []rules.Listed) []core.Row {
	var rows []core.Row
	for _, b := range listed {
		for _, m := range mentionLines(b) {
			rows = append(rows, row.New().Add(col.New(100).Add(l.wrapped(b.Prenom+" : "+m, sizeBody, 1))))
		}
	}
	if len(rows) == 0 {
		return nil
	}
	return append([]core.Row{l.section("Mentions complémentaires")}, rows...)
}

// The mentions as printed, before their period.
const (
	mentionETMText = "Exonération du ticket modérateur"
	mentionC2SText = "Complémentaire santé solidaire (C2S)"
)

// mentionLines are the granted mentions of b, ETM first, with their periods.
func mentionLines(b rules.Listed) []string {
	var out []string
	if b.ETM != nil {
		out = append(out, mentionETMText+" "+b.ETM.French())
	}
	if b.C2S != nil {
		out = append(out, mentionC2SText+" "+b.C2S.French())
	}
	return out
}

// footer is repeated at the bottom of every page.
func (l *layout) footer(day rules.Date) []core.Row {
	notice := "Cette attestation est valable à sa date de délivrance, le " + day.French() +
		". Elle ne remplace pas la carte Vitale."
	contact := "Pour joindre votre caisse : 3646 (service gratuit + prix d'un appel), ou votre compte ameli sur ameli.fr."
	return []core.Row{
		row.New().Add(l.block(100, 2, align.Left,
			line{s: notice, size: sizeSmall + 0.5, color: colorMuted()},
			line{s: contact, size: sizeSmall + 0.5, color: colorMuted()})).
			WithStyle(&props.Cell{BorderType: border.Top, BorderColor: colorRule(), BorderThickness: 0.2}),
	}
}
