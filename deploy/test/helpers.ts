// Synthesizes the app the way `npm run synth` does (into a temporary folder) and reads the result.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Validations, type App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { buildPortholeApp, type PortholeApp } from '../lib/app.js';

export interface Synthesized extends PortholeApp {
  template: Template;
  resources: Record<string, CfnResource>;
}

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

export function synthesize(context: Record<string, unknown> = {}): Synthesized {
  const built = buildPortholeApp({ context, outdir: mkdtempSync(path.join(os.tmpdir(), 'porthole-cdk-')) });
  // Synthesis runs the cdk-nag plugin and throws on any finding that is not acknowledged.
  const template = Template.fromStack(built.stack);
  return { ...built, template, resources: template.toJSON().Resources as Record<string, CfnResource> };
}

export function resourcesOfType(resources: Record<string, CfnResource>, type: string): Array<[string, CfnResource]> {
  return Object.entries(resources).filter(([, resource]) => resource.Type === type);
}

/** The logical id a { Ref } or { Fn::GetAtt } points at, if it is one. */
export function referencedId(value: unknown): string | undefined {
  if (value && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if (typeof object.Ref === 'string') return object.Ref;
    const getAtt = object['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  }
  return undefined;
}

export interface Finding {
  rule: string;
  path: string;
}

/** cdk-nag's findings on the app; with `ignoringAcknowledgements`, also those acknowledged. */
export function nagFindings(app: App, options: { ignoringAcknowledgements?: boolean } = {}): Finding[] {
  const pack = new AwsSolutionsChecks(app);
  if (options.ignoringAcknowledgements) {
    // The pack's own (private) check for acknowledgements, switched off to see every raw finding.
    (pack as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
  }
  return pack
    .validateScope(app)
    .violations.flatMap((violation) =>
      violation.violatingResources.map((resource) => ({ rule: violation.ruleName, path: resource.constructPath ?? '' })),
    );
}

export interface Acknowledgement {
  rule: string;
  reason: string;
  path: string;
}

/** Every acknowledgement recorded in the construct tree (Validations.of(x).acknowledge). */
export function acknowledgements(root: IConstruct): Acknowledgement[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([rule, reason]) => ({
          rule: rule.replace(/^annotation::/i, ''),
          reason,
          path: construct.node.path,
        })),
      ),
  );
}
