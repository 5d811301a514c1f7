// Drives the authorization code flow the way a browser does (following redirects by hand, keeping
// cookies per origin), against a real OpenID provider on loopback. The demo provider's sign-in form is
// submitted with the chosen user.

export class CookieJar {
  private readonly byOrigin = new Map<string, Map<string, string>>();

  header(url: string): string {
    return [...(this.byOrigin.get(new URL(url).origin) ?? new Map<string, string>())].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  store(url: string, response: Response): void {
    const origin = new URL(url).origin;
    const cookies = this.byOrigin.get(origin) ?? new Map<string, string>();
    this.byOrigin.set(origin, cookies);
    for (const setCookie of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = setCookie.split(';');
      const name = pair.slice(0, pair.indexOf('='));
      const value = pair.slice(pair.indexOf('=') + 1);
      const expired = attributes.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a) || /^\s*max-age=0$/i.test(a));
      if (expired || value === '') cookies.delete(name);
      else cookies.set(name, value);
    }
  }

  get(origin: string, name: string): string | undefined {
    return this.byOrigin.get(origin)?.get(name);
  }

  set(origin: string, name: string, value: string): void {
    const cookies = this.byOrigin.get(origin) ?? new Map<string, string>();
    this.byOrigin.set(origin, cookies);
    cookies.set(name, value);
  }
}

export interface Hop {
  url: string;
  status: number;
  location?: string;
  body: string;
  setCookies: string[];
}

export class Browserless {
  readonly jar = new CookieJar();
  readonly hops: Hop[] = [];

  async request(url: string, init: RequestInit = {}): Promise<Hop> {
    const headers = new Headers(init.headers);
    const cookie = this.jar.header(url);
    if (cookie) headers.set('cookie', cookie);
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.jar.store(url, response);
    const location = response.headers.get('location');
    const hop = {
      url,
      status: response.status,
      location: location ? new URL(location, url).href : undefined,
      body: await response.text(),
      setCookies: response.headers.getSetCookie(),
    };
    this.hops.push(hop);
    return hop;
  }

  /** Follows redirects until a response is not one, or until `stop` says to stop at a URL. */
  async follow(url: string, stop: (url: string) => boolean = () => false): Promise<Hop> {
    let hop = await this.request(url);
    for (let i = 0; i < 10 && hop.location && !stop(hop.location); i++) hop = await this.request(hop.location);
    return hop;
  }
}

/**
 * Signs in through Porthole and the demo provider. Stops before Porthole's callback when
 * `stopAtCallback` is set and returns the callback URL so tests can tamper with or replay it.
 */
export async function signInThroughProvider(
  browser: Browserless,
  origin: string,
  userId: string,
  options: { returnTo?: string; stopAtCallback?: boolean } = {},
): Promise<{ callbackUrl: string; final?: Hop }> {
  const isCallback = (url: string) => url.startsWith(`${origin}/auth/callback`);
  const login = await browser.request(
    `${origin}/auth/login${options.returnTo !== undefined ? `?returnTo=${encodeURIComponent(options.returnTo)}` : ''}`,
  );
  if (login.status !== 302 || !login.location) throw new Error(`/auth/login answered ${login.status}: ${login.body}`);
  const interaction = await browser.follow(login.location, isCallback);
  if (!interaction.body.includes('Porthole demo sign-in'))
    throw new Error(`expected the demo sign-in page, got ${interaction.status}`);
  const submit = await browser.request(`${interaction.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `user=${encodeURIComponent(userId)}`,
  });
  let hop = submit;
  for (let i = 0; i < 10 && hop.location && !isCallback(hop.location); i++) hop = await browser.request(hop.location);
  if (!hop.location || !isCallback(hop.location))
    throw new Error(`the provider did not redirect to the callback (last ${hop.status} ${hop.url})`);
  if (options.stopAtCallback) return { callbackUrl: hop.location };
  const final = await browser.request(hop.location);
  return { callbackUrl: hop.location, final };
}
