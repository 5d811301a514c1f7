// Every row of a run as a CSV file: POST /api/runs.csv with the run's body, saved through a link.

/** Fetches every row as CSV (POST, as the server wants JSON bodies) and saves it as a file. */
export async function downloadCsv(request: Record<string, unknown>, filename = 'results.csv'): Promise<void> {
  const response = await fetch('/api/runs.csv', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/csv' },
    body: JSON.stringify(request),
  });
  if (!response.ok) throw new Error(`CSV download failed: ${response.status}`);
  const disposition = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '');
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = disposition?.[1] ?? filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}
