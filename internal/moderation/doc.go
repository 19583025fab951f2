// Package moderation decides what the anchor does with a viewer comment and
// composes the reply.
//
// Classify reads at most MaxRunes runes, normalised with the claims
// normaliser (so zero-width characters, full-width and traditional forms,
// spaced-out letters and pinyin evasions are undone), and decides in order:
//
//  1. abuse: insults and slurs (lexicon/abuse.txt) → ignore, reason "abuse";
//  2. personal data: mobile, landline and foreign numbers (also written in
//     Chinese or financial numerals, spaced out or with dots and hyphens), ID
//     card and bank card numbers, e-mail addresses (also "tom at gmail dot
//     com" beside "mail"), street addresses, the viewer's own WeChat, QQ or
//     WhatsApp id ("我的微信号是…", "my wechat is …") and passwords or codes →
//     ignore, "personal_data". This comes before spam, so a viewer's own
//     number or handle is never treated as mere advertising;
//  3. spam: links (also "dot com", short links), WeChat/QQ/Telegram handles,
//     advertising and solicitation (lexicon/spam.txt, "link in bio", 点我头像),
//     one character repeated six times or a short unit repeated four times →
//     ignore, "spam";
//  4. injection: attempts to instruct the anchor ("忽略之前的指令", "你现在是",
//     "跟我说", "ignore your instructions", "say after me", "repeat:",
//     role-play and system-prompt probes, chat-template tokens; lexicon/
//     injection.txt), and by pattern: 忽略/无视/不要管 … 规则/指令, 从现在起，你,
//     你只能说, "you must say", "from now on, only…", "ignore … rules", a verb of
//     saying before a quoted phrase (请说“…”, "say '…'", "respond with '…'"),
//     "translate …:" → ignore, "injection";
//  5. intent (lexicon/intents.txt, and by pattern "where … from/made" for
//     origin, "hiii"/主播好 for greetings): "are you a real person?" → answer,
//     "human"; product questions (price, stock, size, origin, shipping,
//     material, usage; the earliest in the comment wins) → answer; greetings
//     alone → greet; anything else → ignore, "other".
//
// The labelled comments in testdata/comments.jsonl measure this per reason;
// TestCommentCorpus holds it to never answering or greeting a comment
// labelled abuse, spam, personal data or injection, and
// TestCommentCorpusAnswers to every reply passing the claims checker and
// stating no number the catalog does not hold.
//
// Answer composes the reply only from the catalog: the product named by SKU
// or title, else the current one. Missing facts are admitted, never invented,
// and every reply passes the claims checker before it is returned (a reply
// that would fail is replaced by a neutral one). The anchor always says it is
// an AI-generated digital human when asked.
//
// RunModerate is the JSON-lines loop behind `evercast moderate`.
package moderation
