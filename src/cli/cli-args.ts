/**
 * Argument helpers of the `codeq` CLI: strict `util.parseArgs` with usage errors, durations, lists,
 * numbers, and the connection settings (flags, then environment, then the profile file).
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { CodeqError } from '../errors.js';
import { CodeqHttpClient, type RoleTokens } from '../client/http-client.js';
import type { NatsCliClient, TaskClient } from './nats-cli.js';

/** A mistake in how the CLI was called: printed with a hint and exit code 2. */
export class UsageError extends CodeqError {
  constructor(message: string) {
    super('INVALID_INPUT', message);
    this.name = 'UsageError';
  }
}

/** What every command gets from `main.ts`: environment and output streams (injected for tests). */
export interface CliContext {
  /** Environment variables (default `process.env`). */
  env: NodeJS.ProcessEnv;
  /** Writes to standard output (no newline added). */
  stdout: (text: string) => void;
  /** Writes to standard error (no newline added). */
  stderr: (text: string) => void;
  /** Home directory, for the default profile `~/.codeq/profile.json`. */
  homeDir?: string;
  /**
   * Standard error is a terminal: progress may redraw one line (`\r`). Default false: plain lines,
   * which a log file or a pipe keeps readable.
   */
  stderrIsTerminal?: boolean;
}

/** Option spec of `util.parseArgs`. */
export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Flags every command that talks to a server accepts. */
export const CONNECTION_OPTIONS = {
  'base-url': { type: 'string' },
  'nats-url': { type: 'string' },
  token: { type: 'string' },
  profile: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpec;

/** Help text lines describing {@link CONNECTION_OPTIONS}. */
export const CONNECTION_HELP = `Connection:
  --base-url <url>   server root (env CODEQ_BASE_URL, profile baseUrl; default http://127.0.0.1:8080)
  --nats-url <url>   talk to codeq's NATS service instead (task, worker, queue inspect|list;
                     env CODEQ_NATS_URL, CODEQ_NATS_PREFIX for a natsApiPrefix other than codeq)
  --token <token>    bearer token for every role (env CODEQ_PRODUCER_TOKEN, CODEQ_WORKER_TOKEN,
                     CODEQ_ADMIN_TOKEN; profile tokens.producer|worker|admin)
  --profile <path>   YAML or JSON profile (default ~/.codeq/profile.json when it exists)
  --json             machine-readable output
  -h, --help         this help`;

/** Parsed flags and positionals of one command. */
export interface ParsedArgs<O extends OptionSpec> {
  values: ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>['values'];
  positionals: string[];
  /** Arguments after a literal `--` (the worker's command line). */
  rest: string[];
}

/** `util.parseArgs`, strict, with its errors turned into {@link UsageError}s. */
export function parseCommandArgs<O extends OptionSpec>(args: string[], options: O): ParsedArgs<O> {
  const dashDash = args.indexOf('--');
  const own = dashDash === -1 ? args : args.slice(0, dashDash);
  const rest = dashDash === -1 ? [] : args.slice(dashDash + 1);
  try {
    const parsed = parseArgs({ args: own, options, allowPositionals: true, strict: true });
    return { values: parsed.values, positionals: parsed.positionals, rest };
  } catch (err) {
    // parseArgs messages are good ("Unknown option '--x'"); drop its advice about "--" positionals.
    const message = err instanceof Error ? err.message.split('. To specify')[0]! : String(err);
    throw new UsageError(message);
  }
}

/** Parses `1s`, `500ms`, `2m`, `1h` or a bare number of seconds into milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(text);
  if (!m) throw new UsageError(`${flag}: invalid duration '${text}' (use e.g. 500ms, 1s, 2m, 1h)`);
  const n = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  return Math.round(n * factor);
}

/** Parses a whole number within `[min, max]`. */
export function parseIntFlag(
  text: string | undefined,
  flag: string,
  range: { min?: number; max?: number } = {},
): number | undefined {
  if (text === undefined) return undefined;
  if (!/^-?\d+$/.test(text.trim())) throw new UsageError(`${flag}: '${text}' is not a whole number`);
  const n = Number(text);
  if (range.min !== undefined && n < range.min) throw new UsageError(`${flag}: must be >= ${range.min}`);
  if (range.max !== undefined && n > range.max) throw new UsageError(`${flag}: must be <= ${range.max}`);
  return n;
}

/** Joins repeated and comma-separated flag values into one de-duplicated list. */
export function parseList(...values: Array<string | string[] | undefined>): string[] {
  const out: string[] = [];
  for (const v of values.flat()) {
    if (v === undefined) continue;
    for (const part of v.split(',')) {
      const t = part.trim();
      if (t && !out.includes(t)) out.push(t);
    }
  }
  return out;
}

/** Parses a JSON flag value, naming the flag in the error. */
export function parseJsonFlag(text: string, flag: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${flag}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}

/** Reads the one required positional argument of a command. */
export function requirePositional(positionals: string[], index: number, name: string, usage: string): string {
  const v = positionals[index];
  if (v === undefined || v === '') throw new UsageError(`missing <${name}>; usage: ${usage}`);
  return v;
}

/** Where to reach the server and with which tokens. */
export interface Connection {
  /** Server root, default `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** NATS URL(s) of codeq's NATS service, when the commands go over NATS. */
  natsUrl: string | undefined;
  /** The NATS service's subject prefix, default `codeq`. */
  natsPrefix: string;
  /** Tokens per role. */
  tokens: RoleTokens;
}

/** Contents of a profile file (`~/.codeq/profile.json` or `--profile`), YAML or JSON. */
export interface Profile {
  /** Server root. */
  baseUrl?: string;
  /** NATS URL(s) of codeq's NATS service. */
  natsUrl?: string;
  /** The NATS service's subject prefix. */
  natsPrefix?: string;
  /** A token for every role. */
  token?: string;
  /** Tokens per role. */
  tokens?: RoleTokens;
}

/** Reads a profile; a missing default profile is no profile, a missing explicit one is an error. */
function loadProfile(path: string | undefined, homeDir: string = homedir()): Profile {
  const file = path ?? join(homeDir, '.codeq', 'profile.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (path === undefined && (err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UsageError(`--profile: cannot read ${file}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = parseYaml(text); // YAML is a superset of JSON: one parser reads both.
  } catch (err) {
    throw new UsageError(`profile ${file}: not valid YAML or JSON (${(err as Error).message})`);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw new UsageError(`profile ${file}: not an object`);
  return data as Profile;
}

/**
 * Connection settings; each value comes from the first of: flag, environment, profile, default.
 * `--token` applies to every role.
 */
export function resolveConnection(
  values: ConnectionFlags,
  env: NodeJS.ProcessEnv,
  homeDir?: string,
): Connection {
  const profile = loadProfile(values.profile, homeDir);
  const baseUrl = values['base-url'] ?? env.CODEQ_BASE_URL ?? profile.baseUrl ?? 'http://127.0.0.1:8080';
  try {
    const u = new URL(baseUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new UsageError(`invalid base URL '${baseUrl}' (expected http(s)://host:port)`);
  }
  const pick = (role: 'producer' | 'worker' | 'admin', envName: string): string | undefined =>
    values.token ?? env[envName] ?? profile.tokens?.[role] ?? profile.tokens?.default ?? profile.token;
  return {
    baseUrl,
    natsUrl: values['nats-url'] ?? env.CODEQ_NATS_URL ?? profile.natsUrl,
    natsPrefix: env.CODEQ_NATS_PREFIX ?? profile.natsPrefix ?? 'codeq',
    tokens: {
      producer: pick('producer', 'CODEQ_PRODUCER_TOKEN'),
      worker: pick('worker', 'CODEQ_WORKER_TOKEN'),
      admin: pick('admin', 'CODEQ_ADMIN_TOKEN'),
    },
  };
}

/** The connection flags of {@link CONNECTION_OPTIONS}. */
export interface ConnectionFlags {
  'base-url'?: string | undefined;
  'nats-url'?: string | undefined;
  token?: string | undefined;
  profile?: string | undefined;
}

/**
 * An HTTP client for the connection the flags, environment and profile describe. These commands are
 * served over HTTP only: `--nats-url` is refused (`CODEQ_NATS_URL` is ignored).
 */
export function clientFor(values: ConnectionFlags, ctx: CliContext): CodeqHttpClient {
  if (values['nats-url'] !== undefined)
    throw new UsageError('--nats-url: this command is served over HTTP only (use --base-url)');
  const connection = resolveConnection(values, ctx.env, ctx.homeDir);
  return new CodeqHttpClient({ baseUrl: connection.baseUrl, tokens: connection.tokens });
}

/** The NATS client when `--nats-url` (or `CODEQ_NATS_URL`, or the profile) names a NATS server. */
export async function natsClientFor(
  values: ConnectionFlags,
  ctx: CliContext,
): Promise<NatsCliClient | undefined> {
  const { natsUrl, natsPrefix, tokens } = resolveConnection(values, ctx.env, ctx.homeDir);
  if (natsUrl === undefined) return undefined;
  // Loaded on demand: HTTP commands never load the NATS client.
  const { NatsCliClient } = await import('./nats-cli.js');
  return new NatsCliClient({ url: natsUrl, prefix: natsPrefix, tokens });
}

/** A client of the task commands: over NATS with `--nats-url` (or `CODEQ_NATS_URL`), else HTTP. */
export async function taskClientFor(values: ConnectionFlags, ctx: CliContext): Promise<TaskClient> {
  const nats = await natsClientFor(values, ctx);
  if (nats) return nats;
  const { baseUrl, tokens } = resolveConnection(values, ctx.env, ctx.homeDir);
  return new CodeqHttpClient({ baseUrl, tokens });
}
