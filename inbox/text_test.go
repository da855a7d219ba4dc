package inbox

import (
	"strings"
	"testing"
)

func TestSplitTextHistory(t *testing.T) {
	cases := []struct {
		name, text, own string
	}{
		{"quoted lines", "Pour Lucas seulement.\n> toute la famille\n>> ancien", "Pour Lucas seulement."},
		{"interleaved answer", "> Pour qui ?\nPour Léa.\n> Merci", "Pour Léa."},
		{"le ... a écrit", "Pour Lucas.\n\nLe 24/11/2026 à 10:02, attestation@cpam.example a écrit :\n> toute la famille", "Pour Lucas."},
		{"gmail wrapped", "Pour Lucas.\n\nLe mar. 24 nov. 2026 à 10:02, Service <attestation@cpam.example>\na écrit :\n\n> toute la famille", "Pour Lucas."},
		{"on wrote", "For Lucas.\n\nOn Tue, Nov 24, 2026 at 10:02 AM Service <a@b.example> wrote:\n> family", "For Lucas."},
		{"message d'origine", "Pour Lucas.\n-----Message d'origine-----\nDe : attestation@cpam.example\nEnvoyé : mardi\nObjet : toute la famille", "Pour Lucas."},
		{"original message", "Pour Lucas.\n-----Original Message-----\nFrom: x\nfamille", "Pour Lucas."},
		{"outlook block fr", "Pour Lucas.\n\n________________________________\nDe : Service attestation <attestation@cpam.example>\nEnvoyé : mardi 24 novembre 2026 10:02\nÀ : Benoît\nObjet : Votre attestation\n\ntoute la famille", "Pour Lucas."},
		{"outlook block en", "For Lucas.\nFrom: Service\nSent: Tuesday\nTo: Benoit\nSubject: family\n\nwhole family", "For Lucas."},
		{"outlook bold", "Pour Lucas.\n**De :** Service\n**Envoyé :** mardi\n**Objet :** famille", "Pour Lucas."},
		{"signature", "Pour Lucas.\n-- \nBenoît Peigne\n06 12 34 56 78\ntoute la famille", "Pour Lucas."},
		{"signature without space", "Pour Lucas.\n--\nBenoît", "Pour Lucas."},
		{"mobile footer", "Pour Lucas.\n\nEnvoyé de mon iPhone", "Pour Lucas."},
		{"de in prose is not a header", "De : mon côté, c'est pour Lucas.\nMerci", "De : mon côté, c'est pour Lucas.\nMerci"},
		{"blank lines collapse", "\n\nBonjour,\n\n\n\nPour Lucas.\n\n", "Bonjour,\n\nPour Lucas."},
	}
	for _, c := range cases {
		own, fwds := splitText(c.text, 3, false)
		if own != c.own || len(fwds) != 0 {
			t.Errorf("%s: own %q, forwarded %+v; want %q", c.name, own, fwds, c.own)
		}
	}
}

func TestSplitTextForwarded(t *testing.T) {
	cases := []struct {
		name, text, own string
		hint            bool
		want            []Forwarded
	}{
		{name: "gmail", own: "Voir ci-dessous.",
			text: "Voir ci-dessous.\n\n---------- Forwarded message ---------\nFrom: Marie-Ange <ma@example.fr>\nDate: mer. 25 nov. 2026\nSubject: attestation\nTo: <agent@cpam.example>\n\n\nmon attestation avec l'exonération\n\nLe 24/11 a écrit :\n> vieux",
			want: []Forwarded{{From: "Marie-Ange <ma@example.fr>", Subject: "attestation", Text: "mon attestation avec l'exonération"}}},
		{name: "thunderbird fr", own: "Transmis.",
			text: "Transmis.\n-------- Message transféré --------\nSujet : attestation de droits\nDate : 25/11/2026\nDe : Léa <lea@example.fr>\nPour : agent@cpam.example\n\npour ma fille\n-- \nLéa",
			want: []Forwarded{{From: "Léa <lea@example.fr>", Subject: "attestation de droits", Text: "pour ma fille"}}},
		{name: "apple quoted", own: "",
			text: "Envoyé de mon iPhone\n\nDébut du message réexpédié :\n\n> De: Karim <k@example.com>\n> Objet: attestation\n> \n> pour toute la famille\n",
			want: []Forwarded{{From: "Karim <k@example.com>", Subject: "attestation", Text: "pour toute la famille"}}},
		{name: "outlook forward with TR subject", own: "Pour info.", hint: true,
			text: "Pour info.\n\nDe : Eva Dupont <eva@example.org>\nEnvoyé : mardi\nÀ : agent\nObjet : attestation\n\nmon attestation svp\n\nEva",
			want: []Forwarded{{From: "Eva Dupont <eva@example.org>", Subject: "attestation", Text: "mon attestation svp\n\nEva"}}},
		{name: "nested", own: "1",
			text: "1\n---------- Forwarded message ---------\nFrom: a\n\n2\n---------- Forwarded message ---------\nFrom: b\n\n3",
			want: []Forwarded{{From: "a", Text: "2"}, {From: "b", Text: "3"}}},
	}
	for _, c := range cases {
		own, fwds := splitText(c.text, 3, c.hint)
		if own != c.own {
			t.Errorf("%s: own %q, want %q", c.name, own, c.own)
		}
		if len(fwds) != len(c.want) {
			t.Errorf("%s: forwarded %+v, want %+v", c.name, fwds, c.want)
			continue
		}
		for i := range fwds {
			if fwds[i] != c.want[i] {
				t.Errorf("%s: forwarded[%d] = %+v, want %+v", c.name, i, fwds[i], c.want[i])
			}
		}
	}
	// The forward budget bounds the nesting.
	text := "0" + strings.Repeat("\n---------- Forwarded message ---------\nFrom: x\n\nn", 10)
	if _, fwds := splitText(text, 3, false); len(fwds) != 3 {
		t.Errorf("10 nested forwards read as %d, want 3", len(fwds))
	}
}

func TestIsForwardSubject(t *testing.T) {
	for s, want := range map[string]bool{"TR: attestation": true, "Fwd: x": true, "RE: TR: x": false, "TR: RE: x": true, "Fw : x": true,
		"Re: attestation": false, "attestation TR:": false, "Transfert de dossier": false} {
		if got := isForwardSubject(s); got != want {
			t.Errorf("isForwardSubject(%q) = %v", s, got)
		}
	}
}

func TestHTMLToText(t *testing.T) {
	cases := []struct{ name, html, text string }{
		{"sample 06", "<html><body><p>Bonjour,</p><p>Pourriez-vous m'adresser une <b>attestation de droits</b> &agrave; mon nom ?</p><p>In&egrave;s Garcia</p></body></html>",
			"Bonjour,\n\nPourriez-vous m'adresser une attestation de droits à mon nom ?\n\nInès Garcia"},
		{"br and entities", "Bonjour,<br>pour L&eacute;a&nbsp;&amp;&#32;Lucas<br/>merci", "Bonjour,\npour Léa & Lucas\nmerci"},
		{"head, style, script, comments", "<html><head><title>t</title><style>p{color:red}</style></head><body><!-- x --><script>alert(1)</script><div>texte</div></body></html>", "texte"},
		{"blockquote is quoted", "<div>Pour Lucas.</div><div class=gmail_quote>Le 24/11 a écrit :<blockquote>toute la famille</blockquote></div>",
			"Pour Lucas.\nLe 24/11 a écrit :\n> toute la famille"},
		{"broken markup", "a < b et c > d <b>gras <i unclosed", "a < b et c > d gras"},
		{"attribute with >", `<a title="x > y">lien</a> fin`, "lien fin"},
		{"unclosed comment", "texte <!-- jamais fermé", "texte"},
		{"list", "<ul><li>Léa</li><li>Lucas</li></ul>", "- Léa\n- Lucas"},
		{"pre keeps lines", "<pre>ligne 1\nligne 2</pre>", "ligne 1\nligne 2"},
		{"white space", "<p>  beaucoup \n\t d'espaces  </p>", "beaucoup d'espaces"},
		{"upper-case tags", "<P>Un</P><BR><SCRIPT>x</SCRIPT>Deux", "Un\n\nDeux"},
		// HTML5 tokenization and the head's implicit end.
		{"head left open", "<html><head><title>t</title><meta charset=utf-8><body><p>Bonjour</p>", "Bonjour"},
		{"text ends an open head", "<head><meta charset=utf-8>Bonjour", "Bonjour"},
		{"markup in script", `<script>if (a<b) document.write("<p>x</p>")</script>fin`, "fin"},
		{"empty comments", "<!-->Bonjour<!--->, Léa", "Bonjour, Léa"},
		{"bogus comments", "<?xml version=1.0?><![CDATA[x]]><!DOCTYPE html>texte", "texte"},
		{"quoted < in an attribute", `<a title='<b>'>lien</a>`, "lien"},
		{"nested blockquotes", "<blockquote>a<blockquote>b</blockquote>c</blockquote>", "> a\n> > b\n> c"},
		{"Word's xml island", "<xml><o:DocumentProperties><o:Author>x</o:Author></o:DocumentProperties></xml><p class=MsoNormal>Bonjour</p>", "Bonjour"},
		{"entity without semicolon", "L&eacute;a &amp Lucas", "Léa & Lucas"},
		{"self-closing p and end br", "un<p/>deux</br>trois", "un\n\ndeux\ntrois"},
	}
	for _, c := range cases {
		if got := htmlToText(c.html); got != c.text {
			t.Errorf("%s: got %q, want %q", c.name, got, c.text)
		}
	}
}

func TestHTMLReplyHistoryRemoved(t *testing.T) {
	raw := hdr + "Content-Type: text/html; charset=utf-8\r\n\r\n" +
		"<div dir=ltr>Finalement pour Lucas.</div><br><div class=gmail_quote><div class=gmail_attr>Le mar. 24 nov. 2026, Service &lt;a@cpam.example&gt; a écrit&nbsp;:<br></div>" +
		"<blockquote class=gmail_quote>Bonjour,<br>l'attestation pour toute la famille.</blockquote></div>\r\n"
	m := parseString(t, raw, DefaultLimits())
	if m.Text != "Finalement pour Lucas." {
		t.Errorf("Text = %q", m.Text)
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{"Écrit À L’ŒUVRE": "ecrit a l'oeuvre", "Léa\u00a0Zoë": "lea zoe", "ÇA—va": "ca-va"} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkHTMLToText converts a Gmail-style reply with its quoted history,
// about 24 KB.
func BenchmarkHTMLToText(b *testing.B) {
	part := `<div dir="ltr">Bonjour,<br><br>Pourriez-vous m&#39;envoyer l&#39;attestation de droits pour <b>L&eacute;a</b> ?<br><br>Merci</div>` +
		`<div class="gmail_quote"><div class="gmail_attr">Le mar. 24 nov. 2026 &agrave; 09:31, Service &lt;a@cpam.example&gt; a &eacute;crit&nbsp;:<br></div>` +
		`<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">` +
		`<table><tr><td>Référence</td><td>AD-20261124-0001</td></tr></table><p>Cordialement,</p></blockquote></div>`
	html := "<html><head><style>p{margin:0}</style></head><body>" + strings.Repeat(part, 48) + "</body></html>"
	b.SetBytes(int64(len(html)))
	b.ReportAllocs()
	for b.Loop() {
		htmlToText(html)
	}
}
