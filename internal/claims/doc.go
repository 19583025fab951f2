// Package claims checks what the anchor is about to say, sentence by
// sentence, against Chinese advertising law, the price rules, the
// live-commerce rules and the merchant's catalog. Nothing that fails is
// voiced; the verdict names a category, the offending span as written and a
// reason.
//
// # Normalisation
//
// Normalize maps text to a canonical form and keeps, for every byte, the
// byte range of the original it came from, so a span found in the canonical
// form is reported as it was written (zero-width characters included). The
// canonical form undoes the usual evasions: NFKC (full-width forms, circled
// digits ①), lower case, zero-width and format characters (U+200B..U+200D,
// U+2060, U+FEFF, soft hyphen, variation selectors) removed, Latin tone marks
// removed (dì yī → di yi), traditional and variant characters mapped
// (lexicon/variants.txt: 絕→绝, 對→对, 惟→唯, 苐→第, 壹→一…), Cyrillic and
// Greek look-alikes of Latin letters mapped to them ("Nо1" with a Cyrillic о),
// spaces and filler symbols inside Han words removed (最 * 好 → 最好), words
// spelled one character at a time joined (b e s t, b-e-s-t, N.o.1 → best,
// no1), pinyin spellings of regulated words mapped back (lexicon/pinyin.txt:
// zui4, zui hao, di yi, jue dui…; 第yi → 第一), homophones in context
// (lexicon/homophones.txt: 罪低价/醉美 → 最…; 醉 alone stays), 第1 → 第一 and
// 百分之百/百分百 → 100%. It is idempotent and never fails.
//
// Numbers are read in digits (1,299.90), Chinese numerals (一百二十九点九,
// 三万五) and English words ("ninety-nine", "one hundred and thirty-eight",
// "forty-nine point nine", "a dozen", "half a million").
//
// # Rules
//
// Every text is checked against the lexicons of both languages (a Mandarin
// script may say "NO.1"). Per sentence, the first failing rule in this order
// gives the verdict:
//
//   - absolute: lexicon/absolute.txt (最, 第一, 国家级, 顶级, 唯一, 绝对, 100%,
//     "No. 1", "the best", "guaranteed"…). Ordinary words that contain a term
//     are excused by lexicon/absolute_allow.txt: 最近, 最后, 最多, 最新款,
//     第一次, 第一步, "the best way to"… Decision: 唯一的区别 ("the only
//     difference") is a comparison, not a uniqueness claim, and is allowed.
//     最后一件/最后一批 are not absolute: they are stock and scarcity claims.
//     "100%" is allowed only right before a material or ingredient that the
//     catalog states as 100% or pure (100%纯棉 when the material is "100% cotton",
//     100%真丝 when silk is the only material listed). English terms match whole
//     words ("best before", "first of all" pass); English superlatives of
//     quality are listed (finest, purest, most effective…), "best … ever" and
//     "best … in the world" are caught with a word or two between, and
//     multi-word terms also match with their spaces removed ("T H E  B E S T").
//     "Number one" beside "number two" is an enumeration of links. A claim
//     split into sentences of a word or two ("Best. Honey. Ever.", "全。网。第。一")
//     is caught on the run of sentences.
//   - medical: lexicon/medical.txt (治疗, 治愈, 抗癌, 降血压, 消炎, "cures"…).
//     Allowed only for health food and medical devices, and only when the
//     product's filed_claims fact holds a term of the same group (the groups
//     join synonyms in both languages: filed "增强免疫力" covers "boosts
//     immunity"). Naming a condition in a caution is not a claim
//     ("糖尿病人请慎食", "not suitable for people with diabetes").
//   - efficacy (lexicon/efficacy.txt: 减肥, 美白, 防脱, 丰胸, 助眠, 杀菌…):
//     ordinary food and tea may make none → efficacy; cosmetics, health food
//     and medical devices only their filed claims, else unfiled_claim; other
//     goods none unless filed → efficacy. A claim listed in the product's
//     unfiled_claims fact is always unfiled_claim. Negations ("不能减肥",
//     "does not cure") and disclaimers ("本品不能代替药物",
//     lexicon/efficacy_allow.txt) are excused.
//   - price: every stated amount (129.9, ¥129.9, 129块9, 一百二十九块九,
//     十九块九毛九, 99.9元, "$49.99", "88 yuan", a bare number right after a
//     price word: 到手价99.9) must equal the catalog price or promotion price;
//     after a "now" word (到手价, 现在, 只要, "now", "only") it must equal the
//     price paid now (the promotion price when there is one). A saving (立减30元,
//     "save $30") must equal price − promotion price; a discount (8折, 半价,
//     "30% off", "twenty percent off", "half price") must match the promotion
//     within 1% of the price. A currency that differs from the catalog's (a "$"
//     price for a CNY product) fails. An amount for several pieces (两件118元,
//     118元两件, "two jars for 99.8 yuan", "118 yuan for two") must equal that
//     many times the price. Spoken
//     approximations are ranges: 两百出头 (200 < x ≤ 220), 一百三十多 (130–139),
//     两百左右 (±10%); 不到/低于/"under" N元 is an upper bound. Promotions the
//     catalog has no field for (lexicon/promotions.txt: 买一送一, "buy one get
//     one"…) fail unless the product's facts state them. Thresholds (满199) and
//     shipping fees are not product prices.
//   - original_price: an amount after 原价, 划线价, 市场价, 专柜价, 吊牌价, 日常价,
//     "original price", "regular price", "was", "originally", "used to be",
//     "down from", "instead of", 专柜, 官网, 日常… must not exceed
//     the lowest price charged in the 7 days before Input.SessionDate
//     (Options.OriginalPriceDays): the days D-7 to D-1, day 7 included, day 8
//     and the session day itself not. With no price in that window (or no
//     session date) any original-price claim fails, with or without an amount:
//     it cannot be proven.
//   - stock: 仅剩/只剩/还剩/剩下/库存 N (件), 最后N件, "only N left", "N in stock",
//     "last N pieces" must equal Stock exactly (不到/不足/"less than" N: Stock
//     below N).
//   - scarcity: phrases without a number (lexicon/scarcity.txt: 即将售罄, 最后一批,
//     手慢无, 限量, "almost sold out", "last chance"…) only when stock is really
//     low: Stock ≤ 10 units (Options.LowStockUnits) or Stock ≤ 2% of Sales30d
//     (Options.LowStockShare).
//   - sales: 已售/卖出/月销 N, N人已购买, "N sold", "sold N" must equal Sales30d;
//     "N+", N多, 超过N, 上万, 突破N, "over N" are lower bounds; 近N/"nearly N"
//     means 90–100% of N. 万/w and 千/k multiply. A stated repurchase, review or
//     satisfaction rate (复购率80%) fails unless the facts state it.
//   - fact: only what is recognised is judged. Origin (产自, 产地, 原产于,
//     "made in", "produced in"… always; 来自/"from" only before a known place)
//     must agree with the product's Origin, using the gazetteer
//     lexicon/places.txt so that "产自中国" agrees with 浙江杭州 and "made in
//     Hangzhou" with 杭州; a place before 进口, 原装, 产的, "-made" or a material
//     (新西兰进口, 意大利设计, "Swiss-made", 新疆棉, "Italian silk") is an origin
//     claim too,
//     except inside a catalog title (西湖龙井绿茶) or a substance name
//     ("American ginseng"); 进口/"imported" alone needs a foreign origin or the
//     facts to say so. Materials and ingredients (lexicon/substances.txt) in a
//     material context (材质, 面料, 采用, 含有, 添加, "made of", "contains", a place
//     before…) must be in the product's title or facts; purity (纯羊毛, "pure
//     wool") needs the facts to state it or to list that material alone; a share
//     (含5%烟酰胺, "70% wool") must be the one stated; a named extract or essence
//     (添加了积雪草精华, "with reishi extract") must be in the facts even when the
//     lexicon does not know it; absence claims (无香精, 不含, "-free") need the
//     facts to state the absence or to list ingredients without it.
//     Certifications (lexicon/certifications.txt), shipping promises
//     (lexicon/shipping.txt: 包邮, 顺丰, 次日达…), dispatch times (48小时发货,
//     "ships within 12 hours"), warranty terms (两年质保, "1-year warranty"),
//     shipping fees (运费10元) and sizes (250g, 70cm, 350ml, 5000mAh, "150
//     grams", 19姆米; units converted) must be stated in the facts.
//
// With no product (Input.Product nil), every price, stock, scarcity, sales
// and recognised fact claim fails (nothing can back it) and efficacy is
// judged as for general goods. A sentence that names another catalog product
// by its title is judged against that product.
//
// The labelled corpus in testdata (corpus.jsonl over corpus_catalog.json)
// measures all of this per category; TestCorpus holds the checker to catching
// every labelled violation and blocking fewer than 3% of honest sentences.
//
// RunCheck is the JSON-lines loop behind `evercast check`.
package claims
