package main

// city is a metro area: where relays are hosted and clients live.
type city struct {
	Code     string  // short name; a relay's region is its city's code
	Name     string  // for reading the table
	Lat, Lon float64 // decimal degrees
	Weight   float64 // metro population in millions: how many clients live near it
}

// cities are real metros on every inhabited continent, with approximate
// coordinates and metro populations. Weights only shape the client mix; they
// need not be exact.
var cities = []city{
	// Europe
	{"fra", "Frankfurt", 50.11, 8.68, 5.8},
	{"ams", "Amsterdam", 52.37, 4.90, 2.5},
	{"lon", "London", 51.51, -0.13, 14},
	{"par", "Paris", 48.86, 2.35, 12},
	{"mad", "Madrid", 40.42, -3.70, 6.7},
	{"lis", "Lisbon", 38.72, -9.14, 2.9},
	{"mil", "Milan", 45.46, 9.19, 4.3},
	{"rom", "Rome", 41.90, 12.50, 4.3},
	{"waw", "Warsaw", 52.23, 21.01, 3.1},
	{"sto", "Stockholm", 59.33, 18.07, 2.4},
	{"hel", "Helsinki", 60.17, 24.94, 1.5},
	{"ath", "Athens", 37.98, 23.73, 3.6},
	{"ist", "Istanbul", 41.01, 28.98, 15.5},
	{"mow", "Moscow", 55.76, 37.62, 12.6},
	{"kiv", "Kyiv", 50.45, 30.52, 3.4},
	{"dub", "Dublin", 53.35, -6.26, 2.0},
	{"vie", "Vienna", 48.21, 16.37, 2.9},
	{"buh", "Bucharest", 44.43, 26.10, 2.3},
	// North America
	{"nyc", "New York", 40.71, -74.01, 19.8},
	{"was", "Washington", 38.91, -77.04, 6.3},
	{"atl", "Atlanta", 33.75, -84.39, 6.1},
	{"mia", "Miami", 25.76, -80.19, 6.1},
	{"chi", "Chicago", 41.88, -87.63, 9.4},
	{"dfw", "Dallas", 32.78, -96.80, 7.6},
	{"den", "Denver", 39.74, -104.99, 3.0},
	{"lax", "Los Angeles", 34.05, -118.24, 13},
	{"sfo", "San Francisco", 37.77, -122.42, 6.7},
	{"sea", "Seattle", 47.61, -122.33, 4.0},
	{"tor", "Toronto", 43.65, -79.38, 6.7},
	{"mtl", "Montreal", 45.50, -73.57, 4.3},
	{"van", "Vancouver", 49.28, -123.12, 2.6},
	{"mex", "Mexico City", 19.43, -99.13, 21.8},
	// South America
	{"bog", "Bogota", 4.71, -74.07, 11.3},
	{"lim", "Lima", -12.05, -77.04, 10.9},
	{"scl", "Santiago", -33.45, -70.67, 6.9},
	{"gru", "Sao Paulo", -23.55, -46.63, 22.4},
	{"rio", "Rio de Janeiro", -22.91, -43.17, 13.6},
	{"eze", "Buenos Aires", -34.60, -58.38, 15.4},
	// Africa and the Middle East
	{"jnb", "Johannesburg", -26.20, 28.05, 10},
	{"cpt", "Cape Town", -33.92, 18.42, 4.8},
	{"los", "Lagos", 6.52, 3.38, 15.4},
	{"nbo", "Nairobi", -1.29, 36.82, 5.1},
	{"cai", "Cairo", 30.04, 31.24, 21.8},
	{"cmn", "Casablanca", 33.57, -7.59, 3.8},
	{"dxb", "Dubai", 25.20, 55.27, 3.5},
	{"ruh", "Riyadh", 24.71, 46.68, 7.7},
	{"thr", "Tehran", 35.69, 51.39, 9.5},
	// Asia
	{"bom", "Mumbai", 19.08, 72.88, 21},
	{"del", "Delhi", 28.70, 77.10, 32},
	{"blr", "Bangalore", 12.97, 77.59, 13},
	{"khi", "Karachi", 24.86, 67.01, 17},
	{"sin", "Singapore", 1.35, 103.82, 6},
	{"kul", "Kuala Lumpur", 3.14, 101.69, 8.4},
	{"bkk", "Bangkok", 13.76, 100.50, 11},
	{"cgk", "Jakarta", -6.21, 106.85, 34},
	{"mnl", "Manila", 14.60, 120.98, 14.4},
	{"hkg", "Hong Kong", 22.32, 114.17, 7.5},
	{"sha", "Shanghai", 31.23, 121.47, 29},
	{"pek", "Beijing", 39.90, 116.41, 21.5},
	{"icn", "Seoul", 37.57, 126.98, 25.5},
	{"nrt", "Tokyo", 35.68, 139.69, 37},
	{"kix", "Osaka", 34.69, 135.50, 19},
	{"tpe", "Taipei", 25.03, 121.57, 7},
	// Oceania
	{"syd", "Sydney", -33.87, 151.21, 5.3},
	{"mel", "Melbourne", -37.81, 144.96, 5.1},
	{"per", "Perth", -31.95, 115.86, 2.2},
	{"akl", "Auckland", -36.85, 174.76, 1.7},
}
