// Package seal makes and checks the signed 2D code of an attestation de
// droits: a 2D-Doc-style message (the ANTS format of French administrative
// documents) that a DataMatrix on the PDF carries, signed with ECDSA P-256.
// It does no I/O: the callers read key files and PDFs, and draw the code.
//
// # The message
//
// A header of 26 characters, as 2D-Doc version 04 writes it:
//
//	DC 04 IIII KKKK EEEE SSSS AD 01 FR
//
// the marker and version, the issuer id and the key id (four characters
// each, A-Z and 0-9), the dates of issue and of signature (days since
// 2000-01-01, four upper-case hexadecimal digits), the document type (AD,
// attestation de droits), the perimeter (01) and the issuing country (FR).
//
// Then fields, each a two-character identifier and its value. A fixed-length
// value follows its identifier; a variable-length one ends with GS (0x1D).
// Dates are DDMMYYYY, a period is two dates, an open end written 00000000:
//
//	RF  reference of the attestation      variable
//	DE  date of issue                      8
//	NA  NIR of the assuré(e)               15
//	BN  family name of a beneficiary       variable, starts the beneficiary
//	BU  his usage name, when he has one    variable
//	BP  his first name                     variable
//	BD  his birth date                     8
//	BR  his rang                           2
//	BV  his rights period                  16
//	BE  his exonération du ticket modérateur, when granted    16
//	BC  his complémentaire santé solidaire, when granted      16
//	PL  beneficiaries the document lists but the code leaves out   2
//
// Names are written as 2D-Doc writes them: upper case, no accents. Never a
// motif (SPEC section 6: the reason of an exonération is medical data).
//
// Then US (0x1F) and the signature: ECDSA P-256 over SHA-256 of the header
// and fields (everything before US), r and s on 32 bytes each, in base32
// (RFC 4648) without padding, as 2D-Doc writes it: 103 characters.
//
// The identifiers of the fields are attestd's: 2D-Doc readers that know only
// the ANTS document types show the raw fields.
package seal
