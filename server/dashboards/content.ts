// What one version of a dashboard holds, and the checks every save passes through: a name, variables
// with defaults, an auto-refresh period, the cache's max age, and cards on a 12-column grid, each a saved
// query (optionally pinned to a version) with its display and a map from its variables to the dashboard's.
import { AppError } from '../lib/errors.js';
import { VARIABLE_KINDS, VARIABLE_NAME, canonicalJson, type VariableKind } from '../queries/content.js';

export type CardDisplay = 'chart' | 'table' | 'number';
export const CARD_DISPLAYS: readonly CardDisplay[] = ['chart', 'table', 'number'];

export interface DashboardVariable {
  name: string;
  kind: VariableKind;
  /** A literal value, or for dates and timestamps a relative one: now, today, now-30d, today-7d, now-6h. */
  default: string | null;
}

export interface Card {
  /** Stable within the dashboard (layout edits and per-card state key on it). */
  id: string;
  queryId: string;
  /** Pinned version; null follows the query's current version. */
  queryVersion: number | null;
  title: string | null;
  display: CardDisplay;
  x: number;
  y: number;
  w: number;
  h: number;
  /** Query variable -> dashboard variable; a query variable not named here takes the one of the same name. */
  variableMap: Record<string, string>;
}

export interface DashboardContent {
  name: string;
  description: string;
  variables: DashboardVariable[];
  /** Auto-refresh period while the page is visible; null = off, otherwise at least 60. */
  refreshSeconds: number | null;
  /** Cards may be answered from results at most this old; 0 = off. */
  cacheMaxAgeSeconds: number;
  cards: Card[];
}

export const GRID_COLUMNS = 12;
export const DASHBOARD_LIMITS = {
  name: 200,
  description: 10_000,
  variables: 30,
  cards: 60,
  title: 200,
  default: 500,
  maxHeight: 40,
  maxY: 1000,
  minRefreshSeconds: 60,
  maxCacheAgeSeconds: 86_400,
} as const;
export const DEFAULT_CACHE_MAX_AGE_SECONDS = 300;
export const RELATIVE_DEFAULT = /^(now|today)(-[0-9]{1,4}[hdw])?$/;
const CARD_ID = /^[A-Za-z0-9_-]{1,40}$/;
const QUERY_ID = /^[0-9]{1,18}$/;

function invalid(field: string, message: string): AppError {
  return new AppError(400, 'invalid_request', message, { field });
}

/** Checks and normalises content about to be stored. */
export function checkDashboardContent(content: DashboardContent): DashboardContent {
  const name = content.name.trim();
  if (!name) throw invalid('name', 'Give the dashboard a name.');
  if (name.length > DASHBOARD_LIMITS.name) throw invalid('name', `The name can be at most ${DASHBOARD_LIMITS.name} characters.`);
  if (/\0/.test(name + content.description)) throw invalid('name', 'The name or description contains a NUL character.');

  const names = new Set<string>();
  const variables = content.variables.map((v) => {
    if (!VARIABLE_NAME.test(v.name)) throw invalid('variables', `"${v.name}" is not a variable name.`);
    if (!VARIABLE_KINDS.includes(v.kind)) throw invalid('variables', `"${v.kind}" is not a variable type.`);
    if (names.has(v.name)) throw invalid('variables', `The variable ${v.name} is declared twice.`);
    names.add(v.name);
    if (v.default !== null && (v.default.length > DASHBOARD_LIMITS.default || v.default.includes('\0')))
      throw invalid('variables', `The default of ${v.name} is too long.`);
    return { name: v.name, kind: v.kind, default: v.default };
  });
  if (variables.length > DASHBOARD_LIMITS.variables)
    throw invalid('variables', `A dashboard can have at most ${DASHBOARD_LIMITS.variables} variables.`);

  if (content.refreshSeconds !== null && content.refreshSeconds < DASHBOARD_LIMITS.minRefreshSeconds)
    throw invalid(
      'refreshSeconds',
      `Auto-refresh runs at most once a minute (refreshSeconds >= ${DASHBOARD_LIMITS.minRefreshSeconds}).`,
    );
  if (content.cacheMaxAgeSeconds < 0 || content.cacheMaxAgeSeconds > DASHBOARD_LIMITS.maxCacheAgeSeconds)
    throw invalid(
      'cacheMaxAgeSeconds',
      `The cache's max age is between 0 (off) and ${DASHBOARD_LIMITS.maxCacheAgeSeconds} seconds.`,
    );

  if (content.cards.length > DASHBOARD_LIMITS.cards)
    throw invalid('cards', `A dashboard can have at most ${DASHBOARD_LIMITS.cards} cards.`);
  const cardIds = new Set<string>();
  const cards = content.cards.map((card) => {
    if (!CARD_ID.test(card.id) || cardIds.has(card.id)) throw invalid('cards', `Card id "${card.id}" is missing or repeated.`);
    cardIds.add(card.id);
    if (!QUERY_ID.test(card.queryId)) throw invalid('cards', `A card's query must be a saved query's number.`);
    if (!CARD_DISPLAYS.includes(card.display)) throw invalid('cards', `"${card.display}" is not a card display.`);
    const { x, y, w, h } = card;
    if (![x, y, w, h].every(Number.isInteger) || x < 0 || w < 1 || x + w > GRID_COLUMNS || y < 0 || y > DASHBOARD_LIMITS.maxY)
      throw invalid('cards', `Card "${card.id}" does not fit the ${GRID_COLUMNS}-column grid.`);
    if (h < 1 || h > DASHBOARD_LIMITS.maxHeight) throw invalid('cards', `Card "${card.id}" is too tall or too short.`);
    const title = card.title?.trim() || null;
    if (title && title.length > DASHBOARD_LIMITS.title)
      throw invalid('cards', `A card title can be at most ${DASHBOARD_LIMITS.title} characters.`);
    const variableMap: Record<string, string> = {};
    for (const [from, to] of Object.entries(card.variableMap ?? {})) {
      if (!VARIABLE_NAME.test(from) || !VARIABLE_NAME.test(to))
        throw invalid('cards', `Card "${card.id}" maps a bad variable name.`);
      if (!names.has(to))
        throw invalid('cards', `Card "${card.id}" maps ${from} to ${to}, which the dashboard does not declare.`);
      variableMap[from] = to;
    }
    return {
      id: card.id,
      queryId: card.queryId,
      queryVersion: card.queryVersion ?? null,
      title,
      display: card.display,
      x,
      y,
      w,
      h,
      variableMap,
    };
  });

  return {
    name,
    description: content.description,
    variables,
    refreshSeconds: content.refreshSeconds,
    cacheMaxAgeSeconds: content.cacheMaxAgeSeconds,
    cards,
  };
}

export function sameDashboardContent(a: DashboardContent, b: DashboardContent): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** The layout column: everything but the name and description (they have their own columns). */
export type DashboardLayout = Omit<DashboardContent, 'name' | 'description'>;
