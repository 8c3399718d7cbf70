package web

// commonZones are the time zones the form suggests. The field takes any
// IANA name; these only spare most people the typing.
func commonZones() []string {
	return []string{
		"UTC",
		"Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Madrid", "Europe/Paris",
		"Europe/Brussels", "Europe/Amsterdam", "Europe/Luxembourg", "Europe/Berlin", "Europe/Zurich",
		"Europe/Vienna", "Europe/Rome", "Europe/Prague", "Europe/Warsaw", "Europe/Budapest",
		"Europe/Copenhagen", "Europe/Oslo", "Europe/Stockholm", "Europe/Helsinki", "Europe/Tallinn",
		"Europe/Riga", "Europe/Vilnius", "Europe/Athens", "Europe/Bucharest", "Europe/Sofia",
		"Europe/Belgrade", "Europe/Zagreb", "Europe/Ljubljana", "Europe/Istanbul", "Europe/Kyiv",
		"Europe/Moscow",
		"Africa/Casablanca", "Africa/Lagos", "Africa/Cairo", "Africa/Nairobi", "Africa/Johannesburg",
		"Asia/Jerusalem", "Asia/Beirut", "Asia/Riyadh", "Asia/Dubai", "Asia/Tehran", "Asia/Karachi",
		"Asia/Kolkata", "Asia/Kathmandu", "Asia/Dhaka", "Asia/Bangkok", "Asia/Jakarta",
		"Asia/Singapore", "Asia/Kuala_Lumpur", "Asia/Manila", "Asia/Hong_Kong", "Asia/Shanghai",
		"Asia/Taipei", "Asia/Seoul", "Asia/Tokyo",
		"Australia/Perth", "Australia/Adelaide", "Australia/Brisbane", "Australia/Sydney",
		"Australia/Melbourne", "Pacific/Auckland", "Pacific/Honolulu",
		"America/Anchorage", "America/Los_Angeles", "America/Vancouver", "America/Phoenix",
		"America/Denver", "America/Chicago", "America/Mexico_City", "America/New_York",
		"America/Toronto", "America/Halifax", "America/St_Johns", "America/Bogota", "America/Lima",
		"America/Santiago", "America/Argentina/Buenos_Aires", "America/Sao_Paulo",
	}
}
