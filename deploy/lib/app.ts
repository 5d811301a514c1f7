// The CDK app: both stacks from one set of settings, checked by cdk-nag's AWS Solutions pack. Used by
// deploy/bin/porthole.ts (npm run synth, the cdk CLI) and by the tests, so they check what ships.
import { App, Validations } from 'aws-cdk-lib';
import { CURRENTLY_RECOMMENDED_FLAGS } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ImageRepositoryStack } from './image-repository-stack.js';
import { PortholeStack } from './porthole-stack.js';
import { settingsFromContext } from './settings.js';

export interface PortholeApp {
  app: App;
  repositoryStack: ImageRepositoryStack;
  stack: PortholeStack;
  /** Settings still at their placeholder values (fine for a synth, not for a deployment). */
  placeholders: string[];
}

export function buildPortholeApp(options: { context?: Record<string, unknown>; outdir?: string } = {}): PortholeApp {
  const app = new App({
    outdir: options.outdir,
    // What `cdk init` writes into cdk.json today; context given on the command line wins.
    context: { ...CURRENTLY_RECOMMENDED_FLAGS, ...options.context },
  });
  const { settings, placeholders } = settingsFromContext(app.node);
  const env = { account: settings.account, region: settings.region };
  const repositoryStack = new ImageRepositoryStack(app, 'PortholeImageRepository', {
    env,
    repositoryName: settings.imageRepositoryName,
  });
  const stack = new PortholeStack(app, 'Porthole', { env, settings, terminationProtection: true });
  // Synthesis stops on any finding that is not acknowledged (each acknowledgement carries its reason).
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, repositoryStack, stack, placeholders };
}
