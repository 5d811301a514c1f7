// How a person (an owner, an author) is named on every page.
export interface Person {
  id: string;
  name: string | null;
  email: string | null;
}

export const personName = (person: Person): string => person.name ?? person.email ?? `User ${person.id}`;
