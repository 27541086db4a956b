// Where the default photos live: committed under assets/photos (scripts/fetch-photos.sh re-extracts them).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Folder of the photo fixtures. */
export const PHOTOS_DIR = fileURLToPath(new URL('../../assets/photos/', import.meta.url));

/** Absolute path of a photo fixture. */
export const photo = (name: string): string => join(PHOTOS_DIR, name);

/** The photos (name -> [width, height]). */
export const PHOTOS = {
  'coffee.png': [600, 400],
  'chelsea.png': [451, 300],
  'rocket.jpg': [640, 427],
  'astronaut.png': [512, 512],
  'grace_hopper.jpg': [512, 600],
} as const;

/** Eileen Collins' face in astronaut.png (x, y, width, height), a rough square crop for the emotion model. */
export const ASTRONAUT_FACE = [160, 50, 130, 140] as const;
