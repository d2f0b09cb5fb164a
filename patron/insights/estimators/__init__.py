"""The numerical code behind the insights: pure numpy/scipy functions over arrays, no ORM."""
