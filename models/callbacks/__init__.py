"""Customer callbacks: which events call for one, sampling to the monthly targets, due dates, what an
attempt's result means, findings routed to departments, phone numbers and the do-not-call list."""
