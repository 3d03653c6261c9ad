// Removes dist/ so a package build holds no output of since-deleted sources (`prepack`).
import { rmSync } from 'node:fs';
rmSync('dist', { recursive: true, force: true });
