// The readable part of a query's permalink, /queries/:id-:slug. Only the id is looked up, so renaming a
// query never breaks a link that was shared before.

/** "Failed jobs, by service (7d)" -> "failed-jobs-by-service-7d". */
export function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '');
}

export function permalink(id: string, name: string): string {
  const slug = slugify(name);
  return slug ? `/queries/${id}-${slug}` : `/queries/${id}`;
}
