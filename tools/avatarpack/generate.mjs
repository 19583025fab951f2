// Renders the SVG variants of Evercast's default avatar with DiceBear.
//
// Usage: node generate.mjs OUT_DIR PACK_DIR
//
// Every variant is the same avatar (fixed seed, every random choice pinned
// below) and differs from the base render only in the mouth or the eyes, so
// that the packer (main.go) can cut layers by diffing the rasterised renders.
// It writes OUT_DIR/*.svg and OUT_DIR/render.json (what to rasterise and how
// to assemble the pack), and PACK_DIR/LICENSE (attribution + the style's
// licence, verbatim from the npm package).

import { createAvatar } from '@dicebear/core';
import * as style from '@dicebear/avataaars';
import { fileURLToPath } from 'node:url';
import * as fs from 'node:fs';
import * as path from 'node:path';

const STYLE_PACKAGE = '@dicebear/avataaars';
const STYLE_SLUG = 'avataaars';

// Output size in pixels (the style's view box is 280x280: scale 2).
const SIZE = 560;

// The look of the anchor. Every option that DiceBear would otherwise pick at
// random from the seed is fixed, so the seed only keeps the output stable if
// a future option is added.
const BASE = {
  seed: 'evercast-default',
  size: SIZE,
  style: ['default'],
  backgroundColor: ['transparent'],
  top: ['straight01'],
  topProbability: 100,
  hairColor: ['2c1b18'],
  hatColor: ['262e33'],
  skinColor: ['edb98a'],
  clothing: ['blazerAndShirt'],
  clothesColor: ['25557c'],
  clothingGraphic: ['diamond'],
  eyebrows: ['defaultNatural'],
  accessories: ['round'],
  accessoriesColor: ['262e33'],
  accessoriesProbability: 0,
  facialHair: ['beardLight'],
  facialHairColor: ['2c1b18'],
  facialHairProbability: 0,
  nose: ['default'],
  base: ['default'],
};

// Lip-sync set, closed to wide open, and the two eye states.
const MOUTHS = ['twinkle', 'default', 'smile'];
const EYES_OPEN = 'default';
const EYES_CLOSED = 'closed';

const [outDir, packDir] = process.argv.slice(2);
if (!outDir || !packDir) {
  console.error('usage: node generate.mjs OUT_DIR PACK_DIR');
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });
fs.mkdirSync(packDir, { recursive: true });

function render(file, mouth, eyes) {
  const svg = createAvatar(style, { ...BASE, mouth: [mouth], eyes: [eyes] }).toString();
  fs.writeFileSync(path.join(outDir, file), svg);
  return file;
}

const body = render('body.svg', MOUTHS[0], EYES_OPEN);
const mouths = [body];
for (let i = 1; i < MOUTHS.length; i++) {
  mouths.push(render(`mouth-${i}.svg`, MOUTHS[i], EYES_OPEN));
}
const eyesClosed = render('eyes-closed.svg', MOUTHS[0], EYES_CLOSED);

// The package does not export its package.json: read the installed copy.
const styleDir = fileURLToPath(new URL(`./node_modules/${STYLE_PACKAGE}/`, import.meta.url));
const stylePkg = JSON.parse(fs.readFileSync(path.join(styleDir, 'package.json'), 'utf8'));
const licenceText = fs.readFileSync(path.join(styleDir, 'LICENSE'), 'utf8');
const meta = style.meta;

const manifest = {
  name: 'default',
  style: `${STYLE_PACKAGE}@${stylePkg.version}`,
  license: meta.license.name,
  source: `https://www.dicebear.com/styles/${STYLE_SLUG}`,
  size: [SIZE, SIZE],
  body,
  mouths,
  eyes_open: body,
  eyes_closed: eyesClosed,
  variants: { mouths: MOUTHS, eyes_open: EYES_OPEN, eyes_closed: EYES_CLOSED },
};
fs.writeFileSync(path.join(outDir, 'render.json'), JSON.stringify(manifest, null, 2) + '\n');

const header = [
  `Evercast default avatar pack`,
  ``,
  `Rendered from the DiceBear style ${STYLE_PACKAGE}@${stylePkg.version}`,
  `(https://www.dicebear.com/styles/${STYLE_SLUG}), a remix of "${meta.title}" by`,
  `${meta.creator} (${meta.source}).`,
  `Design licence: ${meta.license.name} (${meta.license.url}).`,
  `Options used: tools/avatarpack/generate.mjs in the Evercast repository.`,
  ``,
  `The licence file of ${STYLE_PACKAGE}@${stylePkg.version} follows, verbatim.`,
  ``,
  `------------------------------------------------------------------------`,
  ``,
].join('\n');
fs.writeFileSync(path.join(packDir, 'LICENSE'), header + licenceText);
