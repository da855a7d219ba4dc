package request

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cpam/attestd/rules"
)

// readCase is one phrasing of a request and what Read must make of it.
type readCase struct {
	name     string
	subject  string
	text     string
	known    []string
	notAtt   bool // Attestation false
	other    bool // OtherDocument
	family   bool
	targets  []rules.Target
	etm, c2s bool
	author   *Author    // checked when set
	nirs     []FoundNIR // checked when set
}

// Shorthands for the table.
func tName(n string) rules.Target { return rules.Target{FirstName: n} }
func tRel(r rules.Relation, n string) rules.Target {
	return rules.Target{FirstName: n, Relation: r}
}
func tBorn(n, date string) rules.Target {
	return rules.Target{FirstName: n, Birth: rules.MustDate(date)}
}
func tList(t ...rules.Target) []rules.Target { return t }

var (
	tSelf     = rules.Target{Relation: rules.RelationSelf}
	tDaughter = rules.Target{Relation: rules.RelationDaughter}
	tSon      = rules.Target{Relation: rules.RelationSon}
	tSpouse   = rules.Target{Relation: rules.RelationSpouse}
	tChild    = rules.Target{Relation: rules.RelationChild}
	tChildren = rules.Target{Relation: rules.RelationChildren}
)

const (
	relDaughter = rules.RelationDaughter
	relSon      = rules.RelationSon
	relChild    = rules.RelationChild
	relSpouse   = rules.RelationSpouse
)

var readToday = rules.MustDate("2026-11-25")

var peigne = []string{"BENOIT", "CLAIRE", "LÉA", "LUCAS", "LUCAS"}

// readCases are the 22 samples' own texts, then requests written the way
// people write them.
var readCases = []readCase{
	// The samples (testdata/samples/requests), text as ParseMessage gives it.
	{name: "01", subject: "Attestation de droits", text: "Bonjour,\n\nPouvez-vous m'envoyer mon attestation de droits ?\n\nMerci,\nEva Dupont",
		author: &Author{FirstNames: []string{"EVA", "DUPONT"}}},
	{name: "02", subject: "Demande d'attestation", text: "Bonjour,\nJe souhaite une attestation de droits pour toute la famille, avec la mention d'exonération du ticket modérateur et la CMU.\nCordialement,\nBenoît Peigne",
		family: true, etm: true, c2s: true, author: &Author{FirstNames: []string{"BENOÎT", "PEIGNE"}}},
	{name: "03", subject: "attestation", text: "Bonjour, il me faudrait l'attestation de droits de ma fille Léa.\nMerci d'avance",
		targets: tList(tRel(relDaughter, "Léa")), author: &Author{}},
	{name: "04", subject: "Attestation sécurité sociale", text: "Bonjour\n\nattestation de droits pour LUCAS 02/03/2015 svp",
		targets: tList(tBorn("LUCAS", "2015-03-02"))},
	{name: "05", subject: "attestation de droits", text: "Bonjour, j'ai besoin de mon attestation de droits pour mon employeur.\nMarc Leroy",
		author: &Author{FirstNames: []string{"MARC", "LEROY"}}},
	{name: "06", subject: "Attestation droits assurance maladie", text: "Bonjour,\n\nPourriez-vous m'adresser une attestation de droits à mon nom ?\n\nInès Garcia",
		author: &Author{FirstNames: []string{"INÈS", "GARCIA"}}},
	{name: "07", subject: "attestation de droits", text: "Bonjour, merci de m'envoyer une attestation de droits."},
	{name: "08", subject: "Attestation pour mon fils", text: "Bonjour, pouvez-vous m'envoyer l'attestation de droits de mon fils Adam ?",
		targets: tList(tRel(relSon, "Adam"))},
	{name: "09", subject: "Attestation de droits famille", text: "Bonjour,\nune attestation de droits pour toute la famille s'il vous plaît.", family: true},
	{name: "10", subject: "attestation de droits", text: "Bonjour, envoyez-moi mon attestation de droits. Merci."},
	{name: "11", subject: "attestation de droits", text: "Bonjour, pouvez-vous m'envoyer mon attestation de droits ?"},
	{name: "12", subject: "attestation de droits", text: "Bonjour,\nJe suis Thomas Rousseau, né le 30/04/1981. Pouvez-vous m'envoyer mon attestation de droits ?",
		author: &Author{FirstNames: []string{"THOMAS", "ROUSSEAU"}, Birth: rules.MustDate("1981-04-30")}},
	{name: "13", subject: "Attestation de paiement", text: "Bonjour, je voudrais une attestation de paiement des indemnités journalières pour mars.",
		notAtt: true, other: true},
	{name: "14 (filtered earlier by its headers)", subject: "Absence du bureau : attestation de droits", text: "Je suis absent jusqu'au 2 décembre. Pour toute attestation de droits, contactez ma collègue.",
		author: &Author{}},
	{name: "16", subject: "attestation de droits", text: "Envoyez l'attestation de droits."},
	{name: "17", subject: "attestation de droits pour mon fils", text: "Bonjour, il me faut l'attestation de droits de mon fils Hugo.",
		targets: tList(tRel(relSon, "Hugo"))},
	{name: "18", subject: "attestation avec exonération", text: "Bonjour, mon attestation de droits avec l'exonération du ticket modérateur svp.", etm: true},
	{name: "19", subject: "Re: Votre attestation de droits", text: "Finalement c'est pour Lucas seulement, merci.",
		targets: tList(tName("Lucas"))},
	{name: "20 agent", subject: "TR: attestation de droits", text: "Bonjour,\nDemande transmise pour l'assurée NIR 2 93 08 2A 004 012 64, avec la mention maternité (exonération du ticket modérateur).\nL'agent d'accueil",
		etm: true, nirs: []FoundNIR{{"293082A00401264", true}}, author: &Author{}},
	{name: "20 forwarded", subject: "attestation", text: "Bonjour, je voudrais mon attestation de droits avec l'exonération. Marie-Ange",
		known: []string{"MARIE-ANGE"}, etm: true, author: &Author{FirstNames: []string{"MARIE-ANGE"}}},
	{name: "21", subject: "Attestations enfants", text: "Bonjour, les attestations de droits pour Léa et Lucas, avec la C2S. Merci",
		targets: tList(tName("Léa"), tName("Lucas")), c2s: true},
	{name: "22", subject: "Demande : attestation de droits", text: "Message de l'assuré :\nBonjour, je souhaite l'attestation de droits de ma fille Léa. Merci",
		targets: tList(tRel(relDaughter, "Léa"))},

	// Intent: the attestation de droits and its synonyms.
	{name: "no accents, capitals", subject: "ATTESTATION DE DROITS", text: "BONJOUR JE VOUDRAIS MON ATTESTATION DE DROITS MERCI"},
	{name: "spacing typos", text: "attestation  de   droits ,svp"},
	{name: "d'assurance maladie", text: "Bonjour, je souhaiterais recevoir une attestation d'assurance maladie."},
	{name: "securite sociale sans accents", text: "bjr il me faut une attestation de securite sociale svp"},
	{name: "attestation de droit singulier", text: "slt, une attestation de droit stp"},
	{name: "attestation secu", text: "Pouvez vous m envoyer une attestation secu"},
	{name: "attestation CPAM", text: "Bonjour je dois fournir une attestation CPAM à la crèche."},
	{name: "attestation carte vitale", text: "je n'ai pas encore ma carte, il me faudrait une attestation carte vitale"},
	{name: "attestation d'affiliation", text: "Merci de me transmettre une attestation d'affiliation à la sécurité sociale."},
	{name: "typo attestaion", text: "bonjour une attestaion de droits svp"},
	{name: "typo atestation de droist", text: "atestation de droist pour moi svp"},
	{name: "plain attestation alone", subject: "attestation", text: "je voudrais mon attestation"},
	{name: "attestation in subject only", subject: "Attestation de droits", text: "Bonjour,\nMerci d'avance.\nSophie Martin",
		author: &Author{FirstNames: []string{"SOPHIE", "MARTIN"}}},
	{name: "justificatif de droits", text: "J'ai besoin d'un justificatif de droits pour l'hôpital."},
	{name: "attestation de mes droits", text: "pouvez-vous m'envoyer une attestation de mes droits"},
	{name: "html-derived text", text: "Bonjour,\n\nPourriez-vous m'envoyer une attestation de droits ?\n\n- pour ma fille Zoé\n\nBien à vous",
		targets: tList(tRel(relDaughter, "Zoé"))},

	// Not the attestation de droits.
	{name: "attestation de salaire", text: "Bonjour, mon employeur me demande une attestation de salaire.", notAtt: true, other: true},
	{name: "CEAM", text: "Je pars en Espagne, il me faut la CEAM pour toute la famille.", notAtt: true, other: true, family: true},
	{name: "carte europeenne", text: "Bonjour je voudrais commander une carte européenne d'assurance maladie", notAtt: true, other: true},
	{name: "releve de remboursements", text: "pouvez vous m'envoyer un relevé de remboursements de 2025", notAtt: true, other: true},
	{name: "attestation fiscale", text: "Bonjour, j'ai besoin de l'attestation fiscale des indemnités journalières.", notAtt: true, other: true},
	{name: "attestation de paiement IJ", text: "attestation de paiement des IJ svp", notAtt: true, other: true},
	{name: "attestation de scolarite", text: "je dois vous envoyer une attestation de scolarité pour mon fils", notAtt: true, other: true,
		targets: tList(tSon)},
	{name: "both kinds asked", text: "Je voudrais mon attestation de droits et un relevé des prestations.", other: true},
	{name: "no document at all", text: "Bonjour, quand vais-je recevoir ma nouvelle carte vitale ?", notAtt: true},
	{name: "thanks to our reply", subject: "Re: Votre attestation de droits", text: "Merci beaucoup !\nClaire", notAtt: true,
		author: &Author{FirstNames: []string{"CLAIRE"}}},
	{name: "reply that asks again", subject: "RE: Votre attestation de droits", text: "Pouvez-vous ajouter la CMU ?", c2s: true},

	// Beneficiaries.
	{name: "first name lower case, known", text: "attestation de droits pour lea svp", known: peigne, targets: tList(tName("LÉA"))},
	{name: "first name capitals", text: "attestation de droits pour LEA", targets: tList(tName("LEA"))},
	{name: "compound known name, spaced", text: "une attestation pour marie ange svp", known: []string{"MARIE-ANGE", "PAUL"},
		targets: tList(tName("MARIE-ANGE"))},
	{name: "known name anywhere", text: "Bonjour, Lucas a besoin de tSon attestation de droits.", known: peigne, targets: tList(tName("LUCAS"))},
	{name: "name and date with dashes", text: "attestation de droits: Lucas né le 2-3-2015", targets: tList(tBorn("Lucas", "2015-03-02"))},
	{name: "date with dots", text: "l'attestation de droits de mon fils né le 19.06.2012 svp",
		targets: tList(rules.Target{Relation: rules.RelationSon, Birth: rules.MustDate("2012-06-19")})},
	{name: "date alone", text: "attestation de droits pour l'enfant née le 19/06/2012",
		targets: tList(rules.Target{Relation: rules.RelationChild, Birth: rules.MustDate("2012-06-19")})},
	{name: "date in words", text: "attestation de droits pour ma fille née le 1er juin 2012",
		targets: tList(rules.Target{Relation: rules.RelationDaughter, Birth: rules.MustDate("2012-06-01")})},
	{name: "twins by date, form style", text: "Attestation de droits\nPrénom : Lucas\nDate de naissance : 02/03/2015",
		targets: tList(tBorn("Lucas", "2015-03-02"))},
	{name: "two names", text: "attestations de droits pour Léa et Lucas", targets: tList(tName("Léa"), tName("Lucas"))},
	{name: "two names and me", text: "Bonjour, une attestation pour Léa, Lucas et moi.", targets: tList(tSelf, tName("Léa"), tName("Lucas"))},
	{name: "me and my daughter", text: "attestation de droits pour moi et ma fille", targets: tList(tSelf, tDaughter)},
	{name: "my tDaughter Zoé", text: "Bonjour, il faudrait l'attestation de ma fille Zoé pour la cantine.", targets: tList(tRel(relDaughter, "Zoé"))},
	{name: "my tSon lower case", text: "bjr attestation de mon fils hugo svp", targets: tList(tRel(relSon, "hugo"))},
	{name: "my wife", text: "Je voudrais l'attestation de droits de ma femme.", targets: tList(tSpouse)},
	{name: "mon epouse", text: "attestation pour mon épouse svp", targets: tList(tSpouse)},
	{name: "mon mari", text: "Pourriez-vous envoyer l'attestation de mon mari ?", targets: tList(tSpouse)},
	{name: "mon conjoint et moi", text: "attestation de droits pour mon conjoint et moi", targets: tList(tSelf, tSpouse)},
	{name: "ma conjointe", text: "attestation de droits de ma conjointe", targets: tList(tSpouse)},
	{name: "mon enfant", text: "attestation de droits pour mon enfant", targets: tList(tChild)},
	{name: "mes enfants", text: "attestation de droits pour mes enfants svp", targets: tList(tChildren)},
	{name: "mes deux enfants", text: "Bonjour, les attestations de mes deux enfants.", targets: tList(tChildren)},
	{name: "mes enfants named", text: "attestation pour mes enfants Léa et Lucas", targets: tList(tRel(relChild, "Léa"), tRel(relChild, "Lucas"))},
	{name: "ma femme et mes enfants", text: "attestation de droits pour ma femme et mes enfants", targets: tList(tSpouse, tChildren)},
	{name: "toute la famille", text: "attestation de droits pour toute la famille", family: true},
	{name: "pour nous tous", text: "une attestation pour nous tous svp", family: true},
	{name: "toute ma famille", text: "l'attestation de toute ma famille", family: true},
	{name: "tous les membres", text: "une attestation avec tous les membres du foyer", family: true},
	{name: "famille alone", subject: "attestation famille", text: "bonjour", family: true},
	{name: "livret de famille is not the family", text: "attestation de droits, j'ai le livret de famille si besoin"},
	{name: "moi", text: "attestation de droits pour moi"},
	{name: "a mon nom", text: "une attestation de droits à mon nom"},
	{name: "mon attestation et celle de ma fille", text: "mon attestation et celle de ma fille Léa svp", targets: tList(tSelf, tRel(relDaughter, "Léa"))},
	{name: "employeur, banque, mutuelle are no beneficiaries", text: "attestation de droits pour mon employeur, ma banque et ma mutuelle"},
	{name: "pour mon travail", text: "il me faut mon attestation pour mon travail"},
	{name: "pour la CAF", text: "attestation de droits pour la CAF"},
	{name: "pour Pole emploi", text: "attestation de droits pour Pôle emploi"},
	{name: "for Christmas is no name", text: "attestation de droits pour Noël svp"},
	{name: "child's name after mother of", text: "Je suis la maman de Jade, il faudrait tSon attestation de droits.", targets: tList(tName("Jade"))},
	{name: "ma fille, no name", text: "je voudrais l'attestation de droits de ma fille", targets: tList(tDaughter)},
	{name: "ma fille est malade", text: "ma fille est malade, il me faut tSon attestation de droits", targets: tList(tDaughter)},
	{name: "subject tSon, body name", subject: "attestation pour mon fils", text: "Il s'appelle Adam, c'est pour Adam.",
		targets: tList(tSon, tName("Adam"))},
	{name: "name and surname", text: "attestation de droits pour Léa Peigne", targets: tList(tName("Léa"))},
	{name: "hyphenated unknown name", text: "attestation de droits pour Jean-Pierre", targets: tList(tName("Jean-Pierre"))},
	{name: "usage name", text: "Attestation de droits pour Ana Durand née Da Silva", targets: tList(tName("Ana"))},

	{name: "children with dates in brackets", text: "Bonjour, je voudrais l'attestation de droits de mes enfants Léa (19/06/2012) et Lucas (02/03/2015).",
		targets: tList(rules.Target{FirstName: "Léa", Relation: relChild, Birth: rules.MustDate("2012-06-19")},
			rules.Target{FirstName: "Lucas", Relation: relChild, Birth: rules.MustDate("2015-03-02")})},
	{name: "daughter and son named", text: "attestation avec CMU pour mon fils Nathan et ma fille Chloé", c2s: true,
		targets: tList(tRel(relSon, "Nathan"), tRel(relDaughter, "Chloé"))},
	{name: "names with birth dates", text: "Attestation pour Léa née le 19/06/2012 et Lucas né le 02/03/2015",
		targets: tList(tBorn("Léa", "2012-06-19"), tBorn("Lucas", "2015-03-02"))},
	{name: "daughter born in words, and me", subject: "attestation", text: "C'est pour ma fille Emma, née le 3 mars 2016, et pour moi.",
		targets: tList(tSelf, rules.Target{FirstName: "Emma", Relation: relDaughter, Birth: rules.MustDate("2016-03-03")})},
	{name: "signature after a relation", text: "Bonjour\nPourriez vous m'envoyer une attestation de droits pour mon fils\nCordialement\nKarim Benali",
		targets: tList(tSon), author: &Author{FirstNames: []string{"KARIM", "BENALI"}}},
	{name: "wife of, no target", text: "Bonjour, je suis Claire, la femme de Benoît. J'ai besoin de mon attestation.",
		author: &Author{FirstNames: []string{"CLAIRE"}}},
	{name: "title before the holder's name", text: "l'attestation de droits de Monsieur Karim Benali svp"},
	{name: "no attestation word", text: "Bonjour, suite à mon appel je vous envoie mon arrêt de travail.", notAtt: true},
	{name: "email address and link", text: "attestation de droits svp, répondez à eva.dupont@example.org ou via https://www.ameli.fr"},
	{name: "names before a weekday", text: "merci de m'envoyer l'attestation pour Lucas et Léa avant lundi",
		targets: tList(tName("Lucas"), tName("Léa"))},
	{name: "two children with dates, signed", text: "Bonjour,\nJe vous contacte car j'ai besoin d'une attestation de droits pour ma fille Jade née le 12/04/2016 et mon fils Tom né le 03/09/2018.\nMerci par avance,\nSandrine Lefèvre",
		targets: tList(rules.Target{FirstName: "Jade", Relation: relDaughter, Birth: rules.MustDate("2016-04-12")},
			rules.Target{FirstName: "Tom", Relation: relSon, Birth: rules.MustDate("2018-09-03")}),
		author: &Author{FirstNames: []string{"SANDRINE", "LEFÈVRE"}}},
	{name: "no punctuation at all", subject: "Demande attestation", text: "bonjour je voudrai l attestation de ma fille svp c est pour la cantine merci",
		targets: tList(tDaughter)},
	{name: "formal letter, me and my children", text: "Madame, Monsieur,\n\nJe souhaiterais obtenir une attestation de droits à l'assurance maladie me concernant ainsi que pour mes enfants.\n\nVeuillez agréer mes salutations distinguées.\n\nM. Karim Benali",
		targets: tList(tSelf, tChildren), author: &Author{FirstNames: []string{"KARIM", "BENALI"}}},
	{name: "mine and my wife's", text: "Bonjour, j'aimerais recevoir mon attestation de droits ainsi que celle de mon épouse. Cordialement.",
		targets: tList(tSelf, tSpouse)},
	{name: "family listed in brackets", text: "Hello, pourriez-vous m'adresser les attestations de droits de toute la famille (moi, ma femme et nos 3 enfants) ? Merci, Karim",
		family: true, author: &Author{FirstNames: []string{"KARIM"}}},
	{name: "spouse named with a title", text: "Bonjour, pouvez vous envoyer une attestation de droits pour Mme Claire Peigne, mon épouse ? Merci",
		targets: tList(tSpouse)},
	{name: "newborn by date", text: "Je voudrais l'attestation pour le bébé né le 10/10/2026",
		targets: tList(rules.Target{Relation: relChild, Birth: rules.MustDate("2026-10-10")})},
	{name: "purpose is no beneficiary", text: "Bonjour, une attestation de droits datée d'aujourd'hui s'il vous plaît, pour un dossier de logement."},
	{name: "own NIR in short form", text: "Bonjour. Mon numéro de sécu : 2 90 10 75 111 042 50. Je voudrais mon attestation de droits. Eva",
		author: &Author{FirstNames: []string{"EVA"}, NIR: "290107511104250"}},
	{name: "pour info", text: "Pour info, je voudrais mon attestation de droits."},
	{name: "acronym after pour", text: "attestation de droits pour la MDPH et pour CCAS"},
	{name: "mutuelle name after pour", text: "attestation de droits pour MGEN svp"},
	{name: "names then family name in capitals", text: "Bonjour, demande d'attestation de droits pour Lucas et Léa PEIGNE. Cordialement",
		targets: tList(tName("Lucas"), tName("Léa"))},
	{name: "no longer has the CMU", text: "bonjour je n ai plus la cmu mais je voudrai mon attestation de droit"},
	// Mentions.
	{name: "ticket moderateur", text: "attestation de droits avec ticket moderateur", etm: true},
	{name: "ALD", text: "attestation de droits avec mon ALD", etm: true},
	{name: "100 %", text: "attestation de droits prise en charge à 100 %", etm: true},
	{name: "100%", text: "attestation de droits 100% svp", etm: true},
	{name: "exo", text: "attestation avec l'exo svp", etm: true},
	{name: "maternite", text: "je suis enceinte, attestation de droits avec la maternité", etm: true},
	{name: "assurance maladie-maternite is no mention", text: "attestation de droits à l'assurance maladie-maternité"},
	{name: "invalidite", text: "attestation de droits avec mention invalidité", etm: true},
	{name: "CMU-C", text: "attestation de droits avec la CMU-C", c2s: true},
	{name: "CMUC", text: "attestation cmuc svp", c2s: true},
	{name: "complementaire sante solidaire, no accents", text: "attestation avec la complementaire sante solidaire", c2s: true},
	{name: "ACS", text: "attestation de droits avec l'ACS", c2s: true},
	{name: "sans la CMU", text: "attestation de droits sans la CMU", c2s: false},
	{name: "pas besoin de l'exoneration", text: "attestation de droits, pas besoin de l'exonération, mais avec la C2S", c2s: true},
	{name: "both mentions for the children", text: "attestations de droits des enfants avec ALD et CMU", targets: tList(tChildren), etm: true, c2s: true},

	// Author.
	{name: "je m'appelle", text: "Bonjour, je m'appelle Claire Peigne, je voudrais mon attestation de droits.",
		author: &Author{FirstNames: []string{"CLAIRE", "PEIGNE"}}},
	{name: "je suis nee le", text: "Je suis née le 12/05/1988, mon attestation de droits svp",
		author: &Author{Birth: rules.MustDate("1988-05-12")}},
	{name: "ma date de naissance", text: "attestation de droits. Ma date de naissance : 12-05-1988",
		author: &Author{Birth: rules.MustDate("1988-05-12")}},
	{name: "cordialement, name on one line", text: "attestation de droits svp. Cordialement, Benoît Peigne",
		author: &Author{FirstNames: []string{"BENOÎT", "PEIGNE"}}},
	{name: "signature with known name is not a target", text: "Bonjour,\nmon attestation de droits svp\nBenoît", known: peigne,
		author: &Author{FirstNames: []string{"BENOÎT"}}},
	{name: "famille Rousseau signature", text: "Bonjour, une attestation de droits svp.\nFamille Rousseau",
		author: &Author{FirstNames: []string{"ROUSSEAU"}}},
	{name: "own NIR", text: "attestation de droits, mon numéro de sécurité sociale est 1 85 06 69 123 087 38",
		author: &Author{NIR: "185066912308738"}, nirs: []FoundNIR{{"185066912308738", true}}},
	{name: "phone under the signature", text: "attestation de droits svp\nCordialement\nEva Dupont\n06 12 34 56 78",
		author: &Author{FirstNames: []string{"EVA", "DUPONT"}}, nirs: []FoundNIR{}},
	{name: "self description then daughter", text: "Je suis Thomas Rousseau, né le 30/04/1981. Il faudrait l'attestation de ma fille Zoé née le 04/07/2014.",
		targets: tList(rules.Target{FirstName: "Zoé", Relation: rules.RelationDaughter, Birth: rules.MustDate("2014-07-04")}),
		author:  &Author{FirstNames: []string{"THOMAS", "ROUSSEAU"}, Birth: rules.MustDate("1981-04-30")}},

	// NIRs.
	{name: "NIR without spaces", text: "attestation de droits pour l'assuré 185066912308738", nirs: []FoundNIR{{"185066912308738", true}}},
	{name: "NIR with dots and bad key", text: "attestation de droits NIR 1.85.06.69.123.087.39", nirs: []FoundNIR{{"185066912308739", false}}},
	{name: "NIR without key", text: "attestation NIR 1 85 06 69 123 087", nirs: []FoundNIR{{"1850669123087", false}}},
	{name: "IBAN is no NIR", text: "attestation de droits FR76 3000 6000 0112 3456 7890 189", nirs: []FoundNIR{}},
}

func TestReadTable(t *testing.T) {
	if len(readCases) < 80 {
		t.Fatalf("the table has %d phrasings; keep at least 80", len(readCases))
	}
	runReadCases(t, readCases)
}

func runReadCases(t *testing.T, cases []readCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Read(c.subject, c.text, &ReadOptions{Known: c.known, Today: readToday})
			if r.Attestation == c.notAtt {
				t.Errorf("Attestation = %v, want %v", r.Attestation, !c.notAtt)
			}
			if r.OtherDocument != c.other {
				t.Errorf("OtherDocument = %v, want %v", r.OtherDocument, c.other)
			}
			if r.Request.Family != c.family {
				t.Errorf("Family = %v, want %v", r.Request.Family, c.family)
			}
			if got, want := targetsString(r.Request.Targets), targetsString(c.targets); got != want {
				t.Errorf("Targets = %s, want %s", got, want)
			}
			if r.Request.ETM != c.etm || r.Request.C2S != c.c2s {
				t.Errorf("ETM, C2S = %v, %v, want %v, %v", r.Request.ETM, r.Request.C2S, c.etm, c.c2s)
			}
			if c.author != nil {
				if got, want := authorString(r.Author), authorString(*c.author); got != want {
					t.Errorf("Author = %s, want %s", got, want)
				}
			}
			if c.nirs != nil && fmt.Sprint(r.NIRs) != fmt.Sprint(c.nirs) && !(len(r.NIRs) == 0 && len(c.nirs) == 0) {
				t.Errorf("NIRs = %v, want %v", r.NIRs, c.nirs)
			}
		})
	}
}

var relationNames = map[rules.Relation]string{
	rules.RelationNone: "", rules.RelationSelf: "self", rules.RelationSpouse: "spouse", rules.RelationChild: "child",
	rules.RelationDaughter: "daughter", rules.RelationSon: "son", rules.RelationChildren: "children",
	rules.RelationTwins: "twins", rules.RelationOther: "other",
}

var rankNames = map[rules.Rank]string{rules.RankEldest: "eldest", rules.RankYoungest: "youngest", rules.RankCadet: "cadet"}

// targetsString writes targets comparably: names folded, in order.
func targetsString(list []rules.Target) string {
	var parts []string
	for _, t := range list {
		var f []string
		if r := relationNames[t.Relation]; r != "" {
			f = append(f, r)
		}
		if r := rankNames[t.Rank]; r != "" {
			f = append(f, r)
		}
		if t.FirstName != "" {
			f = append(f, rules.FoldName(t.FirstName))
		}
		if !t.Birth.IsZero() {
			f = append(f, t.Birth.String())
		}
		parts = append(parts, "{"+strings.Join(f, " ")+"}")
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func authorString(a Author) string {
	names := slices.Clone(a.FirstNames)
	for i, n := range names {
		names[i] = rules.FoldName(n)
	}
	birth := ""
	if !a.Birth.IsZero() {
		birth = a.Birth.String()
	}
	return fmt.Sprintf("{names %v birth %q nir %q}", names, birth, a.NIR)
}
