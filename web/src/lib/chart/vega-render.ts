// Draws a Vega-Lite spec under the strict CSP (loaded lazily: this module pulls in Vega and Vega-Lite).
// Vega parses expressions into ASTs and vega-interpreter evaluates them, so nothing needs eval; the loader
// refuses every URL, so no spec can make the page fetch anything; no vega-embed, so no injected styles
// and no actions menu.
import { View, parse, type Loader, type Spec } from 'vega';
import { expressionInterpreter } from 'vega-interpreter';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { ChartPoint } from './chart-data';
import { POINTS_DATA, TARGET_DATA, type VegaLiteSpec } from './spec';

/** Above this many marks the canvas renderer is used: SVG slows down with tens of thousands of nodes. */
export const CANVAS_THRESHOLD = 1_000;

const refuse = (what: string) => Promise.reject(new Error(`Charts cannot load ${what}: data comes from the query only.`));

/** A loader that loads nothing: data.url, image marks and the like fail instead of leaving the origin. */
export const noNetworkLoader: Loader = {
  load: (uri) => refuse(uri),
  sanitize: (uri) => refuse(uri),
  http: (uri) => refuse(uri),
  file: (name) => refuse(name),
};

export interface RenderedChart {
  toPng(): Promise<string>;
  toSvg(): Promise<string>;
  destroy(): void;
}

export async function renderChart(
  container: HTMLElement,
  spec: VegaLiteSpec,
  data: { points: ChartPoint[]; target: ChartPoint[] },
): Promise<RenderedChart> {
  const vegaSpec = compile(spec as unknown as TopLevelSpec).spec as Spec;
  const renderer = data.points.length > CANVAS_THRESHOLD ? 'canvas' : 'svg';
  const view = new View(parse(vegaSpec, undefined, { ast: true }), {
    expr: expressionInterpreter,
    loader: noNetworkLoader,
    renderer,
    container,
    hover: renderer === 'svg',
    logLevel: 1, // errors only
  });
  view.data(POINTS_DATA, data.points);
  if (data.target.length) view.data(TARGET_DATA, data.target);
  await view.runAsync();
  container.dataset.renderer = renderer;
  return {
    toPng: () => view.toImageURL('png', 2),
    toSvg: () => view.toSVG(),
    destroy: () => view.finalize(),
  };
}
