package request

import (
	"strings"

	"github.com/cpam/attestd/rules"
)

// The word tables of the reader, folded (lower case, no accents). They are
// read-only.

// wordSet is a set of folded words.
type wordSet map[string]struct{}

func words(list string) wordSet {
	s := wordSet{}
	for _, w := range strings.Fields(list) {
		s[w] = struct{}{}
	}
	return s
}

func (s wordSet) has(w string) bool { _, ok := s[w]; return ok }

// notNames are words that are never a first name, even written with a
// capital: function words, greetings, the vocabulary of the requests,
// months, days, titles, institutions.
var notNames = words(`
a au aux avec ce ces cet cette c ca cela celle celles celui ceux ci chez comme dans de des du d en et est
etc il ils elle elles en eux je j la le les l leur leurs lui ma me m mes moi mon ne n ni nos notre nous on
ou par pas pour qu que qui quoi s sa se ses si son sur ta te tes toi ton tu un une vos votre vous y t
alors aussi bien car donc encore ensuite mais meme puis sans seulement uniquement egalement tres trop plus
moins deja tout toute tous toutes autre autres chaque aucun aucune quel quelle quels quelles celle-ci
bonjour bonsoir salut slt bjr bsr coucou cc hello madame monsieur mme mr mrs mlle mademoiselle messieurs
dames m. docteur dr maitre
merci mrc mrci cordialement cdlt cdt bav salutations sincerement respectueusement amicalement bisous
bises bonne journee soiree semaine fin week end weekend avance remerciements remercie attentivement
svp stp svpl sil plait plaît urgent urgence rapidement vite possible possibilite besoin voudrais
voulez veux veut souhaite souhaiterais souhaiterai souhaitons aimerais aimerai faudrait faut pourriez
pouvez pouvoir peux peut envoyer envoyez envoie envoi adresser adressez transmettre transmis transmise
faire faites demande demandes demander demandons recevoir recu recue reçu obtenir avoir ai as avons avez
ont suis es sommes etes sont etait sera serait ete fait dit
attestation attestations droit droits assurance assure assuree maladie securite secu sociale social
cpam caf ameli msa urssaf pole emploi france travail mutuelle carte vitale cmu cmuc c2s acs ald
exoneration ticket moderateur mention mentions complementaire sante solidaire maternite invalidite
document documents justificatif papier formulaire dossier compte numero nir immatriculation
employeur banque ecole creche college lycee universite medecin hopital pharmacie clinique mairie
prefecture impots administration service services agent agence accueil conseiller conseillere
famille fille filles fils enfant enfants bebe femme mari epouse epoux conjoint conjointe compagnon compagne
mere pere maman papa parents parent frere soeur
janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre
lundi mardi mercredi jeudi vendredi samedi dimanche aujourd hui demain hier matin soir
noel paques annee an ans mois jour jours date naissance ne nee nes nees
objet re tr fwd fw pj piece jointe ci-joint ci joint
oui non ok okay d'accord accord parfait super top
finalement enfin ainsi voici voila desole desolee excusez
nom prenom prenoms adresse rue avenue boulevard ville
info infos information informations rappel memoire suite cela rien savoir voir quand comment pourquoi
combien lequel laquelle dossier logement cantine centre colonie voyage stage sport club inscription
rsa apl aah ame mdph pmi cmp ccas ehpad crous paje ase pmi sncf edf
mgen axa alan harmonie malakoff humanis ag2r swisslife allianz generali maaf macif maif matmut mnt apicil
klesia april groupama smerep lmde heyme cnp doctolib
paris lyon marseille toulouse nice nantes strasbourg montpellier bordeaux lille rennes
absent absente enceinte malade malades retraite retraitee etudiant etudiante salarie salariee titulaire
allocataire inscrit inscrite hospitalise hospitalisee handicape handicapee mineur mineure majeur majeure
divorce divorcee separe separee veuf veuve celibataire scolarise scolarisee age agee
jumeaux jumelles triples triplees gamins gosses neveu neveux niece nieces oncle tante cousin cousine cousins
cousines gendre bru filleul filleule copain copine voisin voisine aine ainee aines ainees cadet cadette
`)

// titles come before a person's name ("Madame Claire Peigne").
var titles = words(`madame monsieur mme mr mlle mademoiselle m`)

// closings end a mail before its signature.
var closings = words(`cordialement cdlt cdt salutations sincerement respectueusement amicalement bisous bises
merci remerciements bav`)

// possessives introduce a relation: "ma fille", "nos enfants".
var possessives = words(`mon ma mes notre nos`)

// relationQualifiers may sit between a possessive and its noun, or after the
// noun, without changing the relation: "mes deux enfants", "ma fille
// ainee" (a rank, read by rankAt), "mes enfants jumeaux" (twinWords).
var relationQualifiers = words(`deux trois quatre cinq 2 3 4 5 petit petite petits petites jeune
grand grande aine ainee cadet cadette dernier derniere premier premiere chere cher cheri cherie
jumeau jumelle jumeaux jumelles benjamin benjamine beau belle beaux belles ex futur future arriere`)

// articles introduce a relation that needs no possessive: "l'enfant", "les
// jumeaux", "le cadet", "du plus jeune", "des enfants". Only the nouns marked article may
// follow them: "la fille de …" or "la femme de …" is how an author
// describes herself, not whom she asks for.
var articles = words(`l le la les des du au aux`)

// notFamily are the qualifiers that turn a relation noun into someone no
// compte holds as that relation: "ma belle-fille", "mon ex-mari", "mon
// futur époux", "mon arrière-petit-fils"; petit before fils, fille, enfant
// says grandchild ("ma petite-fille", "mes petits enfants").
var notFamily = words(`beau belle beaux belles ex futur future arriere`)

// twinWords after a plural relation say twins: "mes enfants jumeaux".
var twinWords = words(`jumeaux jumelles triples triplees`)

// nameIntro may sit between a relation and the first name: "ma fille qui
// s'appelle Léa", "mon fils prénommé Hugo".
var nameIntro = words(`qui s appelle appele appelee prenomme prenommee nomme nommee prenom`)

// negations cancel a mention asked just after them: "sans la CMU".
var negations = words(`sans pas ni non plus aucun aucune jamais`)

// otherDocWords, after "attestation de", name another document than the
// attestation de droits: it goes to the agents (not_attestation).
var otherDocWords = words(`paiement paiements salaire salaires indemnite indemnites ij ijss versement
versements fiscale fiscal fiscaux impot impots pension pensions rente rentes arret arrets remboursement
remboursements reglement reglements prestation prestations non presence domicile hebergement employeur
accident travail mutuelle scolarite residence ceam europeenne decompte decomptes releve releves perte vol
honneur medicale medical reprise sortie hospitalisation sejour naissance deces vaccination
participation cotisation cotisations tiers payant retraite chomage`)

// addWords, after "attestation (de)", name the attestation de droits itself
// or a close synonym.
var addWords = words(`droit droits drois droi assurance assurances assure assuree assures affiliation securite
secu ss cpam ameli couverture ouverture vitale maladie sante puma cmu cmuc c2s complementaire
rattachement beneficiaire beneficiaires ald exoneration immatriculation regime ayant ayants
sociale social prise`)

// relationNouns maps a relation noun to what it designates.
var relationNouns = map[string]relationWord{
	"fille": {rel: rules.RelationDaughter}, "filles": {rel: rules.RelationDaughter, plural: true, article: true},
	"fils": {rel: rules.RelationSon}, "garcon": {rel: rules.RelationSon}, "garcons": {rel: rules.RelationSon, plural: true, article: true},
	"enfant": {rel: rules.RelationChild, article: true}, "bebe": {rel: rules.RelationChild, article: true},
	"enfants": {rel: rules.RelationChildren, plural: true, article: true},
	"petits":  {rel: rules.RelationChildren, plural: true, article: true, adjective: true},
	"gamins":  {rel: rules.RelationChildren, plural: true, article: true}, "gosses": {rel: rules.RelationChildren, plural: true, article: true},
	"jumeaux": {rel: rules.RelationTwins, plural: true, article: true}, "jumelles": {rel: rules.RelationTwins, plural: true, article: true},
	"triples": {rel: rules.RelationTwins, plural: true, article: true}, "triplees": {rel: rules.RelationTwins, plural: true, article: true},
	"femme": {rel: rules.RelationSpouse}, "epouse": {rel: rules.RelationSpouse}, "mari": {rel: rules.RelationSpouse},
	"epoux": {rel: rules.RelationSpouse}, "conjoint": {rel: rules.RelationSpouse}, "conjointe": {rel: rules.RelationSpouse},
	"compagnon": {rel: rules.RelationSpouse}, "compagne": {rel: rules.RelationSpouse}, "concubin": {rel: rules.RelationSpouse},
	"concubine": {rel: rules.RelationSpouse}, "partenaire": {rel: rules.RelationSpouse},
}

// otherRelations are relation nouns for people the compte does not hold as
// a relation (rules.RelationOther): named, they are looked up by name;
// unnamed, the request is beneficiary_unknown rather than the author's.
var otherRelations = words(`mere pere maman papa parents frere freres soeur soeurs neveu neveux niece nieces
oncle tante cousin cousine cousins cousines gendre bru filleul filleule ami amie copain copine voisin voisine
ex`)

// relationWord is what a relation noun designates.
type relationWord struct {
	rel    rules.Relation
	plural bool
	// article: the noun designates a beneficiary after an article too
	// ("les enfants"), not only after a possessive.
	article bool
	// adjective: the word is also an adjective ("les petits détails"):
	// it is a noun only where nothing follows it.
	adjective bool
}

// relationOf returns what the relation noun w designates.
func relationOf(w string) (relationWord, bool) {
	if r, ok := relationNouns[w]; ok {
		return r, true
	}
	if otherRelations.has(w) {
		return relationWord{rel: rules.RelationOther, plural: strings.HasSuffix(w, "s") || strings.HasSuffix(w, "x")}, true
	}
	return relationWord{}, false
}
