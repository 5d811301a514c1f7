// Demo mode: the embedded PostgreSQL with Porthole's tools DB and a seeded demo main DB. Loaded only when
// no TOOLS_DATABASE_URL is configured (never in production: config.ts refuses that combination).
import { DEMO_SENSITIVE_COLUMNS, provisionDemoMainDatabase, provisionToolsDatabase } from '../../schema/provision.js';
import type { Config } from '../config.js';
import { parseColumnRef, type ColumnRef } from '../data-sources/tiers.js';
import { startEmbeddedCluster } from './embedded-cluster.js';
import { startDemoIdentityProvider } from './identity-provider.js';

export interface DemoEnvironment {
  toolsDatabaseUrl: string;
  toolsMigrationUrl: string;
  mainDatabaseUrl: string;
  /** The demo main database's pii tier (members of `support`), beside the standard one above. */
  mainPiiDatabaseUrl: string;
  sessionSecret: string;
  /** Set when the demo identity provider runs (no OIDC_* configured). */
  identityProvider?: { issuerUrl: string; clientId: string; clientSecret: string };
  stop(): Promise<void>;
}

export const DEMO_CLIENT_ID = 'porthole-demo';

export const DEMO_TOOLS_DATABASE = 'porthole_tools';
export const DEMO_MAIN_DATABASE = 'porthole_demo';

export async function startDemoEnvironment(
  config: Config,
  log: (message: string) => void,
  options: { identityProvider: boolean } = { identityProvider: true },
): Promise<DemoEnvironment> {
  const cluster = await startEmbeddedCluster({ dir: config.dataDir, log });
  try {
    if (cluster.firstStart)
      log('First start: setting up databases and demo data. This takes about a minute; later starts take seconds.');
    const tools = await provisionToolsDatabase(cluster.adminUrl, {
      database: DEMO_TOOLS_DATABASE,
      ownerRole: 'porthole_owner',
      ownerPassword: cluster.secrets.ownerPassword,
      appRole: 'porthole_app',
      appPassword: cluster.secrets.appPassword,
    });
    const main = await provisionDemoMainDatabase(cluster.adminUrl, {
      database: DEMO_MAIN_DATABASE,
      readerRole: 'porthole_reader',
      readerPassword: cluster.secrets.readerPassword,
      notifications: config.demoNotifications,
      onProgress: log,
      tiers: {
        piiRole: 'porthole_reader_pii',
        piiPassword: cluster.secrets.piiReaderPassword,
        withheldColumns: DEMO_SENSITIVE_COLUMNS,
      },
    });
    if (main.seeded) log('Demo data ready.');
    const provider =
      config.oidc || !options.identityProvider
        ? undefined
        : await startDemoIdentityProvider({
            port: config.port + 1,
            clientId: DEMO_CLIENT_ID,
            clientSecret: cluster.secrets.demoClientSecret,
            portholeUrl: config.publicUrl,
          }).catch((error: unknown) => {
            throw new Error(
              `The demo identity provider could not listen on 127.0.0.1:${config.port + 1} (set PORT to move both): ${String(error)}`,
              {
                cause: error,
              },
            );
          });
    if (provider) log(`demo identity provider (not a real one) on ${provider.issuer}`);
    return {
      toolsDatabaseUrl: tools.appUrl,
      toolsMigrationUrl: tools.ownerUrl,
      mainDatabaseUrl: main.readerUrl,
      mainPiiDatabaseUrl: main.piiReaderUrl!,
      sessionSecret: config.sessionSecret ?? cluster.secrets.sessionSecret,
      identityProvider: provider && {
        issuerUrl: provider.issuer,
        clientId: DEMO_CLIENT_ID,
        clientSecret: cluster.secrets.demoClientSecret,
      },
      stop: async () => {
        await provider?.stop();
        await cluster.stop();
      },
    };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

/**
 * The config with the demo's databases, secret and identity provider filled in. Unless role mapping was
 * configured, the demo provider's groups map to roles: porthole-admins -> admin, product -> viewer. The
 * demo main database (when MAIN_DATABASE_URL does not replace it) has two tiers: standard, without the
 * contact columns, and pii for the group `support`.
 */
export function withDemoSettings(config: Config, demo: DemoEnvironment): Config {
  const idp = demo.identityProvider;
  const rolesConfigured =
    config.roles.adminEmails.length + config.roles.adminGroups.length + config.roles.viewerGroups.length > 0;
  return Object.freeze({
    ...config,
    toolsDatabaseUrl: demo.toolsDatabaseUrl,
    toolsMigrationUrl: demo.toolsMigrationUrl,
    // MAIN_DATABASE_URL (or MAIN_DATABASE_AUTH=rds-iam) replaces the demo's main database and its tiers.
    mainDatabaseUrl: config.mainDatabaseIam ? undefined : (config.mainDatabaseUrl ?? demo.mainDatabaseUrl),
    mainSourceTiers:
      config.mainDatabaseUrl || config.mainDatabaseIam ? config.mainSourceTiers : demoMainTiers(demo.mainPiiDatabaseUrl),
    sessionSecret: demo.sessionSecret,
    oidc: idp ? Object.freeze({ ...idp, scopes: 'openid email profile groups', groupsClaim: 'groups' }) : config.oidc,
    roles:
      idp && !rolesConfigured
        ? Object.freeze({ ...config.roles, adminGroups: ['porthole-admins'], viewerGroups: ['product'] })
        : config.roles,
  });
}

/** The demo main database's tiers: standard for everyone, pii (the sensitive columns too) for `support`. */
export function demoMainTiers(piiUrl: string): NonNullable<Config['mainSourceTiers']> {
  return {
    tiers: [
      { name: 'standard', groups: [], readsSensitive: false },
      { name: 'pii', url: piiUrl, groups: ['support'], readsSensitive: true },
    ],
    sensitiveColumns: DEMO_SENSITIVE_COLUMNS.map((c) => parseColumnRef(c) as ColumnRef),
  };
}
