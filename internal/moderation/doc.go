// Package moderation decides what the anchor does with a viewer comment and
// composes the reply.
//
// Classify reads at most MaxRunes runes, normalised with the claims
// normaliser (so zero-width characters, full-width and traditional forms,
// spaced-out letters and pinyin evasions are undone), and decides in order:
//
//  1. abuse: insults and slurs (lexicon/abuse.txt) → ignore, reason "abuse";
//  2. spam: links, WeChat/QQ/Telegram handles, advertising and solicitation
//     (lexicon/spam.txt), one character repeated six times or a short unit
//     repeated four times → ignore, "spam";
//  3. personal data: mobile and landline numbers (also written in Chinese
//     numerals or with separators), ID card and bank card numbers, e-mail and
//     street addresses → ignore, "personal_data";
//  4. injection: attempts to instruct the anchor ("忽略之前的指令", "你现在是",
//     "跟我说", "ignore your instructions", "say after me", "repeat:",
//     role-play and system-prompt probes; lexicon/injection.txt) → ignore,
//     "injection";
//  5. intent (lexicon/intents.txt): "are you a real person?" → answer,
//     "human"; product questions (price, stock, size, origin, shipping,
//     material, usage; the earliest in the comment wins) → answer; greetings
//     alone → greet; anything else → ignore, "other".
//
// Answer composes the reply only from the catalog: the product named by SKU
// or title, else the current one. Missing facts are admitted, never invented,
// and every reply passes the claims checker before it is returned (a reply
// that would fail is replaced by a neutral one). The anchor always says it is
// an AI-generated digital human when asked.
//
// RunModerate is the JSON-lines loop behind `evercast moderate`.
package moderation
