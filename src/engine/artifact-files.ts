/**
 * Inline result artifacts (`contentBase64`) kept as files, as codeQ's local uploader keeps them:
 * under `<dir>/results/<taskId>/`, answered with a `file://` URL. Each file lives in a directory
 * named by its content's SHA-256 (`results/<taskId>/<sha256>/<name>`), so two submissions for one
 * task (a retry, a worker whose lease was lost meanwhile) can never overwrite each other's bytes:
 * the same content lands on the same path, different content on another, and the result event
 * names the one it recorded. Files are written to a temporary name and renamed into place.
 *
 * Only the name, the URL, the size and the hash reach the log; the content never does.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ARTIFACT_FILE_NAME_PATTERN, TASK_ID_PATTERN } from '../contract/limits.js';
import type { Artifact } from '../contract/views.js';
import { CodeqError } from '../errors.js';

/** An artifact as a result submits it (`ArtifactSchema`). */
export interface ArtifactIn {
  /** Display name; for inline content, the file name. */
  name: string;
  /** Where it is hosted; wins over `contentBase64` (codeQ's rule). */
  url?: string | undefined;
  /** Inline content, standard base64 with padding. */
  contentBase64?: string | undefined;
  /** MIME type. */
  contentType?: string | undefined;
}

/** Size limits of inline artifacts (decoded bytes); 0 turns inline artifacts off. */
export interface ArtifactLimits {
  /** Largest one artifact, bytes. */
  maxBytes: number;
  /** Largest sum of one result's inline artifacts, bytes. */
  maxResultBytes: number;
}

/** The artifacts of one result, checked: what the log records, and the files still to write. */
export interface DecodedArtifacts {
  /** The artifacts as the result event records them (no content). */
  records: Artifact[];
  /** Inline contents, each with the SHA-256 and name its file is stored under. */
  files: { name: string; sha256: string; data: Buffer }[];
}

// Standard alphabet, padded: what codeQ's Go decoder (base64.StdEncoding) and its SDKs produce.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function invalid(message: string): never {
  throw new CodeqError('INVALID_INPUT', message);
}

/** Decoded size of a valid padded base64 string, bytes. */
function decodedSize(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return (text.length / 4) * 3 - padding;
}

/** Files of inline artifacts under one root directory. */
export class ArtifactFiles {
  private readonly root: string | undefined;

  /**
   * @param dir - the artifacts directory (`localArtifactsDir`); undefined: inline artifacts are refused.
   * @param limits - size limits, decoded bytes.
   */
  constructor(
    dir: string | undefined,
    private readonly limits: ArtifactLimits,
  ) {
    this.root = dir === undefined ? undefined : resolve(dir);
  }

  /**
   * Checks a result's artifacts and decodes inline contents (nothing is written). An artifact with a
   * `url` keeps it and its content is ignored, as codeQ does. Throws `INVALID_INPUT` for a bad name,
   * bad base64, a duplicate inline name, or a size over the limits.
   */
  decode(taskId: string, artifacts: readonly ArtifactIn[]): DecodedArtifacts {
    const records: Artifact[] = [];
    const files: DecodedArtifacts['files'] = [];
    const names = new Set<string>();
    let total = 0;
    for (const a of artifacts) {
      if (a.url !== undefined || a.contentBase64 === undefined) {
        const record: Artifact = { name: a.name };
        if (a.url !== undefined) record.url = a.url;
        if (a.contentType !== undefined) record.contentType = a.contentType;
        records.push(record);
        continue;
      }
      if (this.root === undefined)
        invalid('inline artifacts need an artifacts directory (localArtifactsDir)');
      if (this.limits.maxBytes === 0) invalid('inline artifacts are turned off (artifactMaxBytes is 0)');
      if (!ARTIFACT_FILE_NAME_PATTERN.test(a.name)) {
        invalid(
          `invalid artifact name '${a.name}' (a file name: no '/', '\\' or control characters; not '.' or '..')`,
        );
      }
      if (names.has(a.name)) invalid(`duplicate artifact name '${a.name}'`);
      names.add(a.name);
      if (a.contentBase64.length % 4 !== 0 || !BASE64.test(a.contentBase64)) {
        invalid(`artifact '${a.name}': invalid contentBase64 (standard base64 with padding)`);
      }
      const size = decodedSize(a.contentBase64);
      if (size > this.limits.maxBytes) {
        invalid(`artifact '${a.name}' too large (${size} bytes; limit ${this.limits.maxBytes})`);
      }
      total += size;
      if (total > this.limits.maxResultBytes) {
        invalid(`artifacts too large (over ${this.limits.maxResultBytes} bytes in one result)`);
      }
      const data = Buffer.from(a.contentBase64, 'base64');
      const sha256 = createHash('sha256').update(data).digest('hex');
      const record: Artifact = { name: a.name, url: this.fileUrl(taskId, sha256, a.name), size, sha256 };
      if (a.contentType !== undefined) record.contentType = a.contentType;
      records.push(record);
      files.push({ name: a.name, sha256, data });
    }
    return { records, files };
  }

  /** Writes decoded files (atomically each; the same content twice is harmless). */
  async write(taskId: string, files: DecodedArtifacts['files']): Promise<void> {
    if (files.length === 0 || this.root === undefined) return;
    const taskDir = this.taskDir(taskId);
    for (const file of files) {
      const dir = join(taskDir, file.sha256);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      // In the task's directory, whose other entries are 64-hex directories: no name can clash.
      const temp = join(taskDir, `.${randomUUID()}.tmp`);
      try {
        await writeFile(temp, file.data, { mode: 0o600 });
        await rename(temp, join(dir, file.name));
      } catch (err) {
        await rm(temp, { force: true });
        throw new CodeqError('UNAVAILABLE', `artifact '${file.name}' could not be stored`, { cause: err });
      }
    }
  }

  /** The file of a stored artifact (one whose record has a `sha256`), and its size; undefined when gone. */
  async find(taskId: string, artifact: Artifact): Promise<{ path: string; size: number } | undefined> {
    if (this.root === undefined || artifact.sha256 === undefined) return undefined;
    if (!ARTIFACT_FILE_NAME_PATTERN.test(artifact.name)) return undefined;
    const path = join(this.taskDir(taskId), artifact.sha256, artifact.name);
    const info = await stat(path).catch(() => undefined);
    return info?.isFile() ? { path, size: info.size } : undefined;
  }

  /** Removes every file of a task (its task was deleted). */
  async removeTask(taskId: string): Promise<void> {
    if (this.root === undefined) return;
    await rm(this.taskDir(taskId), { recursive: true, force: true });
  }

  /** `<root>/results/<taskId>`: task ids are subject tokens (`[A-Za-z0-9_-]`), safe as a path part. */
  private taskDir(taskId: string): string {
    if (!TASK_ID_PATTERN.test(taskId)) invalid('invalid task id');
    return join(this.root as string, 'results', taskId);
  }

  private fileUrl(taskId: string, sha256: string, name: string): string {
    return pathToFileURL(join(this.taskDir(taskId), sha256, name)).href;
  }
}
