// How many users and items the graph has (from the count store): training and evaluation need both.
RETURN COUNT { (:User) } AS users, COUNT { (:Item) } AS items
