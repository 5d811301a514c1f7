// `npm run synth` (and the cdk CLI, through deploy/cdk.json): writes the CloudFormation templates to
// deploy/cdk.out without AWS credentials or network access. Settings come from context: deploy/cdk.json's
// "context" block, overridden by -c on the command line:
//   npm run synth -- -c domainName=porthole.example.org -c certificateArn=arn:aws:acm:...
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildPortholeApp } from '../lib/app.js';
import { SettingsError } from '../lib/settings.js';

const started = Date.now();
const outdir = process.env.CDK_OUTDIR ?? path.resolve(import.meta.dirname, '..', 'cdk.out');

/** `-c key=value` pairs when run directly (the cdk CLI passes context through CDK_CONTEXT_JSON instead). */
function contextFromArguments(argv: string[]): Record<string, string> {
  const context: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const pair = argv[i] === '-c' || argv[i] === '--context' ? argv[++i] : undefined;
    const match = pair?.match(/^([^=]+)=(.*)$/);
    if (match) context[match[1]!] = match[2]!;
    else if (pair !== undefined || argv[i]!.startsWith('-')) throw new SettingsError([`unexpected argument ${argv[i]}`]);
  }
  return context;
}

/** The cdk CLI hands the app cdk.json's context itself (CDK_CONTEXT_JSON); run directly, read it here. */
function contextFromCdkJson(): Record<string, unknown> {
  if (process.env.CDK_CONTEXT_JSON !== undefined) return {};
  const file = path.resolve(import.meta.dirname, '..', 'cdk.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { context?: Record<string, unknown> }).context ?? {};
}

try {
  const context = { ...contextFromCdkJson(), ...contextFromArguments(process.argv.slice(2)) };
  const { app, stack, repositoryStack, placeholders } = buildPortholeApp({ outdir, context });
  const assembly = app.synth();
  const templates = [repositoryStack, stack].map((s) =>
    path.relative(process.cwd(), path.join(assembly.directory, s.templateFile)),
  );
  process.stderr.write(`porthole: wrote ${templates.join(' and ')} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  if (placeholders.length) {
    process.stderr.write(`porthole: placeholder values in use (set them with -c before deploying): ${placeholders.join(', ')}\n`);
  }
} catch (error) {
  if (!(error instanceof SettingsError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exitCode = 1;
}
