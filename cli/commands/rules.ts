// `keywarden rules list` and `keywarden rules export --format rg` (the benchmark's ripgrep input).
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { KeywardenError } from '../../errors/error.js';
import type { Rule } from '../../rules/schema.js';
import { loadConfig, resolveRules } from '../../scanner/config.js';

async function effectiveRules(configPath: string | undefined): Promise<Rule[]> {
  const config = await loadConfig(resolve('.'), configPath);
  return resolveRules(config);
}

/**
 * One pattern per line for `rg -f`. Each is wrapped as `(?:...)` because ripgrep 13 joins `-f` lines
 * with a bare `|`, so an inline `(?i)` would leak into every later pattern (docs/benchmarks.md, design measurements). Path-gated
 * rules are left out: they run only on the files their `paths` select, and a format rule's pattern
 * judges one parsed value (`.{4,256}`), which as a line pattern would match nearly every line.
 */
export function exportRipgrep(rules: readonly Rule[]): string {
  return rules
    .filter((r) => !r.paths?.length)
    .map((r) => `(?:${r.pattern})\n`)
    .join('');
}

export function registerRulesCommands(program: Command, setExit: (code: number) => void): void {
  const rules = program.command('rules').description('list or export the rule pack');
  rules
    .command('list')
    .description('list rules: id, provider, description')
    .option('-f, --format <format>', 'text | json', 'text')
    .option('-c, --config <file>', 'config file (default: .keywarden.yaml in the current directory)')
    .action(async (flags: { format: string; config?: string }) => {
      const list = await effectiveRules(flags.config);
      if (flags.format === 'json') {
        const rows = list.map((r) => ({
          id: r.id,
          provider: r.provider,
          category: r.category,
          description: r.description,
          confidence: r.confidence,
          keywords: r.keywords,
          checksum: r.checksum ?? null,
          references: r.references,
        }));
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      } else if (flags.format === 'text') {
        const w = Math.max(...list.map((r) => r.id.length));
        const pw = Math.max(...list.map((r) => r.provider.length));
        for (const r of list) process.stdout.write(`${r.id.padEnd(w)}  ${r.provider.padEnd(pw)}  ${r.description}\n`);
        process.stdout.write(`${list.length} rules\n`);
      } else {
        throw new KeywardenError('KW_USAGE', `--format must be text or json; got ${JSON.stringify(flags.format)}`);
      }
      setExit(0);
    });
  rules
    .command('export')
    .description('export the rule patterns for another tool')
    .requiredOption('-f, --format <format>', 'rg (a ripgrep -f pattern file)')
    .option('-c, --config <file>', 'config file')
    .action(async (flags: { format: string; config?: string }) => {
      if (flags.format !== 'rg') throw new KeywardenError('KW_USAGE', `--format must be rg; got ${JSON.stringify(flags.format)}`);
      process.stdout.write(exportRipgrep(await effectiveRules(flags.config)));
      setExit(0);
    });
}
