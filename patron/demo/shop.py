"""The demo shop's fixed facts: catalogue, markets, names, campaigns and spa accounts.

Everything here is plain data shipped with the code (no download), read by the generator.
Prices are integer cents; supply cycles are days one unit lasts.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

CURRENCY = "EUR"
WEB_SOURCE_NAME = "Web shop"
BACK_OFFICE_SOURCE_NAME = "Back office"
SHOP_URL = "https://shop.example.com"
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")  # reserved for examples (RFC 2606)
# Employers for the work addresses some customers check out with; .example is reserved too.
WORK_EMAIL_DOMAINS = (
    "northwind.example",
    "contoso.example",
    "fabrikam.example",
    "tailspin.example",
)


@dataclass(frozen=True)
class CategorySpec:
    slug: str
    name: str
    parent_slug: str | None


CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec("skincare", "Skincare", None),
    CategorySpec("cleansers", "Cleansers", "skincare"),
    CategorySpec("moisturisers", "Moisturisers", "skincare"),
    CategorySpec("serums", "Serums", "skincare"),
    CategorySpec("sunscreen", "Sunscreen", "skincare"),
    CategorySpec("wellness", "Wellness", None),
    CategorySpec("gift-sets", "Gift sets", None),
)


@dataclass(frozen=True)
class ProductSpec:
    sku: str
    name: str
    brand: str
    category_slug: str
    price_cents: int
    supply_days: int | None
    popularity: float  # relative weight when customers choose products
    stock_status: str = "in_stock"
    is_repeatable: bool = True

    @property
    def is_consumable(self) -> bool:
        """Re-bought when it runs out: the products that carry a supply cycle."""
        return self.is_repeatable and self.supply_days is not None


# sku | name | brand | category | price | supply days (- for none: bought once) | popularity |
# stock status (in stock unless given)
_PRODUCT_TABLE = """
CL-GEL-150 | Gentle Gel Cleanser 150 ml | Lumen & Leaf | cleansers | 16.50 | 45 | 9
CL-OIL-200 | Camellia Cleansing Oil 200 ml | Nordic Dew | cleansers | 24.00 | 45 | 5
CL-OAT-200 | Oat Milk Cream Cleanser 200 ml | Calma | cleansers | 14.00 | 45 | 7
CL-FOAM-150 | Citrus Foaming Cleanser 150 ml | Sol Botanics | cleansers | 12.00 | 45 | 4
CL-BALM-100 | Melting Cleansing Balm 100 ml | Verdant Lab | cleansers | 28.00 | 45 | 4
CL-MIC-400 | Micellar Water 400 ml | Calma | cleansers | 9.90 | 45 | 6
MO-DAY-50 | Daily Balance Moisturiser 50 ml | Lumen & Leaf | moisturisers | 29.00 | 60 | 10
MO-RICH-50 | Rich Repair Cream 50 ml | Nordic Dew | moisturisers | 38.00 | 60 | 6
MO-GEL-50 | Water Gel Moisturiser 50 ml | Calma | moisturisers | 22.00 | 60 | 7
MO-NIGHT-50 | Overnight Recovery Cream 50 ml | Verdant Lab | moisturisers | 42.00 | 60 | 4
MO-BARRIER-50 | Ceramide Barrier Balm 50 ml | Sol Botanics | moisturisers | 26.00 | 60 | 5
MO-EYE-15 | Brightening Eye Cream 15 ml | Lumen & Leaf | moisturisers | 32.00 | 60 | 3 | low_stock
SE-VITC-30 | Vitamin C 15% Serum 30 ml | Verdant Lab | serums | 45.00 | 90 | 7
SE-HYA-30 | Hyaluronic Hydration Serum 30 ml | Calma | serums | 29.00 | 90 | 8
SE-NIA-30 | Niacinamide 10% Serum 30 ml | Sol Botanics | serums | 21.00 | 90 | 6
SE-RET-30 | Gentle Retinal Night Serum 30 ml | Lumen & Leaf | serums | 52.00 | 90 | 4
SE-PEP-30 | Multi-Peptide Firming Serum 30 ml | Nordic Dew | serums | 48.00 | 90 | 3
SE-AHA-30 | AHA Resurfacing Serum 30 ml | Verdant Lab | serums | 27.00 | 90 | 3 | out_of_stock
SU-FLUID-50 | Invisible Fluid SPF 50, 50 ml | Sol Botanics | sunscreen | 24.00 | 120 | 8
SU-MINERAL-50 | Mineral Sunscreen SPF 30 50 ml | Calma | sunscreen | 26.00 | 120 | 4
SU-TINT-50 | Tinted Protector SPF 50 50 ml | Lumen & Leaf | sunscreen | 31.00 | 120 | 4
SU-BODY-200 | Body Sun Lotion SPF 30 200 ml | Sol Botanics | sunscreen | 28.00 | 120 | 3
SU-STICK-15 | Sun Stick SPF 50 15 g | Nordic Dew | sunscreen | 19.00 | 120 | 2
WE-COLLAGEN-30 | Marine Collagen Powder, 30 servings | Vitalis | wellness | 39.00 | 30 | 5
WE-MAG-60 | Magnesium Glycinate, 60 capsules | Vitalis | wellness | 19.00 | 30 | 5
WE-VITD-90 | Vitamin D3 + K2, 90 capsules | Vitalis | wellness | 15.00 | 90 | 4
WE-OMEGA-60 | Algae Omega-3, 60 capsules | Vitalis | wellness | 22.00 | 30 | 3
WE-TEA-SLEEP | Chamomile Sleep Tea, 20 bags | Stillwater | wellness | 9.50 | 20 | 4
WE-MATCHA-30 | Ceremonial Matcha 30 g | Stillwater | wellness | 24.00 | 30 | 3
WE-BATH-500 | Magnesium Bath Flakes 500 g | Stillwater | wellness | 18.00 | 45 | 3
WE-MIST-100 | Lavender Pillow Mist 100 ml | Stillwater | wellness | 16.00 | 90 | 2
WE-ROLLER | Rose Quartz Facial Roller | Stillwater | wellness | 29.00 | - | 2
WE-GUASHA | Jade Gua Sha Stone | Stillwater | wellness | 22.00 | - | 1 | preorder
GS-DISCOVERY | Skincare Discovery Set | Lumen & Leaf | gift-sets | 49.00 | - | 4
GS-ROUTINE | Complete Routine Gift Box | Lumen & Leaf | gift-sets | 89.00 | - | 3
GS-WELLNESS | Wellness Ritual Box | Stillwater | gift-sets | 69.00 | - | 3
GS-TRAVEL | Travel Minis Set | Calma | gift-sets | 35.00 | - | 3
GS-SPA-NIGHT | Spa Night Gift Set | Nordic Dew | gift-sets | 59.00 | - | 2 | low_stock
GS-ADVENT | Beauty Advent Calendar | Verdant Lab | gift-sets | 129.00 | - | 2 | discontinued
GS-MINI-SPF | Sun Care Duo | Sol Botanics | gift-sets | 39.00 | - | 1
"""


def _products(table: str) -> tuple[ProductSpec, ...]:
    products = []
    for line in table.strip().splitlines():
        parts = [part.strip() for part in line.split("|")]
        sku, name, brand, category, price, supply, popularity = parts[:7]
        stock = parts[7] if len(parts) > 7 else "in_stock"
        euros, cents = price.split(".")
        products.append(
            ProductSpec(
                sku=sku,
                name=name,
                brand=brand,
                category_slug=category,
                price_cents=int(euros) * 100 + int(cents),
                supply_days=None if supply == "-" else int(supply),
                popularity=float(popularity),
                stock_status=stock,
                is_repeatable=supply != "-",
            )
        )
    return tuple(products)


PRODUCTS = _products(_PRODUCT_TABLE)


@dataclass(frozen=True)
class Market:
    """Where customers live: one time zone with its country, language, VAT and phone ranges."""

    country: str  # ISO 3166-1 alpha-2
    timezone: str  # IANA name
    locale: str
    utc_offset_hours: float  # standard time; summer time is ignored for shopping hours
    vat_basis_points: int  # 0 outside the EU's VAT area (exports)
    weight: float  # share of the customer base
    names: str  # key into NAME_POOLS
    cities: tuple[str, ...]
    phone_prefixes: tuple[str, ...]  # E.164 starts whose every completion is a valid mobile
    phone_digits: int  # digits after the prefix

    @property
    def phone_space(self) -> int:
        """How many distinct numbers the prefixes offer; customer ids beyond it get no phone."""
        return len(self.phone_prefixes) * 10**self.phone_digits


# country, time zone, locale, standard UTC offset, VAT %, weight, name pool, phone ranges
# (prefixes/free digits, or nanp area codes/6), cities. VAT is 0 outside the EU (exports).
_MARKET_TABLE = """
DE Europe/Berlin de-DE +1 19 16 german +49151,+49152/8 Berlin, Hamburg, München, Köln, Leipzig
AT Europe/Vienna de-AT +1 20 3 german +4366/7 Wien, Graz, Salzburg, Innsbruck
CH Europe/Zurich de-CH +1 0 3 german +4178/7 Zürich, Basel, Bern, Luzern
FR Europe/Paris fr-FR +1 20 10 french +3361,+3362,+3365/7 Paris, Lyon, Marseille, Toulouse, Nantes
BE Europe/Brussels nl-BE +1 21 2 dutch +3245/7 Brussel, Antwerpen, Gent, Leuven
NL Europe/Amsterdam nl-NL +1 21 6 dutch +3161,+3162/7 Amsterdam, Rotterdam, Utrecht, Den Haag
GB Europe/London en-GB +0 0 10 english +44740,+44741,+44751,+44753,+44754/7 London, Leeds, Bristol
IE Europe/Dublin en-IE +0 23 2 english +35385/7 Dublin, Cork, Galway, Limerick
ES Europe/Madrid es-ES +1 21 6 spanish +346/8 Madrid, Barcelona, Valencia, Sevilla, Bilbao
PT Europe/Lisbon pt-PT +0 23 2 portuguese +35191/7 Lisboa, Porto, Braga, Coimbra
IT Europe/Rome it-IT +1 22 6 italian +3931/8 Roma, Milano, Torino, Bologna, Napoli, Firenze
SE Europe/Stockholm sv-SE +1 25 3 nordic +4670/7 Stockholm, Göteborg, Malmö, Uppsala
DK Europe/Copenhagen da-DK +1 25 2 nordic +4526,+4527,+4528/6 København, Aarhus, Odense
FI Europe/Helsinki fi-FI +2 25.5 1 nordic +35841/7 Helsinki, Espoo, Tampere, Turku
PL Europe/Warsaw pl-PL +1 23 4 polish +485/8 Warszawa, Kraków, Wrocław, Gdańsk, Poznań
US America/New_York en-US -5 0 4 english nanp212,646/6 New York, Boston, Philadelphia, Miami
US America/Chicago en-US -6 0 2 english nanp312,773/6 Chicago, Austin, Minneapolis
US America/Denver en-US -7 0 1 english nanp303,720/6 Denver, Boulder, Salt Lake City
US America/Los_Angeles en-US -8 0 3 english nanp213,310,415/6 Los Angeles, San Francisco, Seattle
CA America/Toronto en-CA -5 0 2 english nanp416,647/6 Toronto, Ottawa, Montréal
CA America/Vancouver en-CA -8 0 1 english nanp604,778/6 Vancouver, Victoria
BR America/Sao_Paulo pt-BR -3 0 1 portuguese +55119/8 São Paulo, Campinas, Santos
MX America/Mexico_City es-MX -6 0 1 spanish +5222/8 Ciudad de México, Puebla, Guadalajara
AU Australia/Sydney en-AU +10 0 2 english +6141/7 Sydney, Newcastle, Wollongong
AU Australia/Melbourne en-AU +10 0 1 english +6142,+6143/7 Melbourne, Geelong
NZ Pacific/Auckland en-NZ +12 0 1 english +6421/7 Auckland, Wellington, Christchurch
JP Asia/Tokyo ja-JP +9 0 2 japanese +81901/7 Tokyo, Osaka, Kyoto, Yokohama
SG Asia/Singapore en-SG +8 0 1 english +6581,+6582,+6583,+6590,+6591/6 Singapore
IN Asia/Kolkata en-IN +5.5 0 1 indian +9181/8 Mumbai, Bengaluru, Delhi, Pune
AE Asia/Dubai en-AE +4 0 1 english +97150/7 Dubai, Abu Dhabi
ZA Africa/Johannesburg en-ZA +2 0 1 english +277/8 Johannesburg, Cape Town, Durban
"""


def _phone_prefixes(ranges: str) -> tuple[tuple[str, ...], int]:
    prefixes, digits = ranges.split("/")
    if prefixes.startswith("nanp"):
        # North American exchanges start with 2 to 9; every such completion is valid.
        areas = prefixes.removeprefix("nanp").split(",")
        return tuple(f"+1{area}{first}" for area in areas for first in range(2, 10)), int(digits)
    return tuple(prefixes.split(",")), int(digits)


def _markets(table: str) -> tuple[Market, ...]:
    markets = []
    for line in table.strip().splitlines():
        country, zone, locale, offset, vat, weight, names, ranges, cities = line.split(" ", 8)
        prefixes, digits = _phone_prefixes(ranges)
        markets.append(
            Market(
                country=country,
                timezone=zone,
                locale=locale,
                utc_offset_hours=float(offset),
                vat_basis_points=round(float(vat) * 100),
                weight=float(weight),
                names=names,
                cities=tuple(city.strip() for city in cities.split(",")),
                phone_prefixes=prefixes,
                phone_digits=digits,
            )
        )
    return tuple(markets)


MARKETS = _markets(_MARKET_TABLE)


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


# Varied given and family names per language, comma-separated; no list is downloaded.
NAME_POOLS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "german": (
        _names(
            """
            Anna, Lena, Sophie, Marie, Johanna, Clara, Emma, Lea, Hannah, Katharina, Julia,
            Sabine, Petra, Ursula, Jana, Greta, Frieda, Mia, Lukas, Jonas, Felix, Maximilian,
            Tobias, Florian, Jan, Stefan, Thomas, Matthias, Jürgen, Niklas, Paul, Moritz
            """
        ),
        _names(
            """
            Müller, Schmidt, Schneider, Fischer, Weber, Meyer, Wagner, Becker, Schulz, Hoffmann,
            Koch, Richter, Klein, Wolf, Schröder, Neumann, Schwarz, Zimmermann, Braun, Krüger,
            Hofmann, Hartmann, Lange, Werner, Krause, Lehmann, Köhler, Maier, Huber, Bauer
            """
        ),
    ),
    "french": (
        _names(
            """
            Camille, Léa, Manon, Chloé, Inès, Louise, Jeanne, Élodie, Margaux, Céline, Amélie,
            Juliette, Zoé, Aurélie, Mathilde, Lucas, Hugo, Louis, Théo, Antoine, Julien,
            Mathieu, Nicolas, Baptiste, Étienne, Rémi, Olivier
            """
        ),
        _names(
            """
            Martin, Bernard, Dubois, Thomas, Robert, Richard, Petit, Durand, Leroy, Moreau,
            Simon, Laurent, Lefèvre, Michel, Garcia, David, Bertrand, Roux, Vincent, Fournier,
            Girard, Bonnet, Dupont, Lambert, Fontaine, Rousseau, Chevalier, Mercier
            """
        ),
    ),
    "dutch": (
        _names(
            """
            Emma, Sanne, Lotte, Fleur, Anouk, Noor, Eva, Julia, Sophie, Lieke, Femke, Iris,
            Mila, Daan, Sem, Bram, Lars, Thijs, Ruben, Jeroen, Sven, Joris, Wouter, Pieter,
            Stijn, Maarten, Koen
            """
        ),
        _names(
            """
            de Jong, Jansen, de Vries, van den Berg, van Dijk, Bakker, Janssens, Visser, Smit,
            Meijer, de Boer, Mulder, de Groot, Bos, Vos, Peters, Hendriks, van Leeuwen, Dekker,
            Brouwer, de Wit, Dijkstra, Smits, Maes, Peeters, Claes, Willems
            """
        ),
    ),
    "english": (
        _names(
            """
            Olivia, Amelia, Isla, Ava, Grace, Emily, Charlotte, Sophia, Chloe, Jessica, Hannah,
            Megan, Aisha, Priya, Siobhan, Niamh, Zara, Maya, Ruby, Harper, Madison, Abigail,
            Ella, Nia, Keisha, Mei, Yasmin, Fatima, Oliver, George, Harry, Jack, Noah, Liam,
            Ethan, Mason, Samuel, Daniel, James, Oscar, Callum, Ryan, Kwame, Tariq, Mateo,
            Kenji, Wei, Omar
            """
        ),
        _names(
            """
            Smith, Jones, Taylor, Brown, Williams, Wilson, Johnson, Davies, Robinson, Wright,
            Thompson, Evans, Walker, White, Roberts, Green, Hall, Wood, Jackson, Clarke, Murphy,
            O'Brien, Kelly, Byrne, Walsh, Patel, Khan, Ahmed, Singh, Chen, Nguyen, Kim, Okafor,
            Mensah, Adeyemi, Rodriguez, Hernandez, Lopez, Miller, Davis, Anderson, Martinez,
            MacDonald, Campbell, Stewart, Cohen, Rossi, Fernandes
            """
        ),
    ),
    "spanish": (
        _names(
            """
            Lucía, María, Paula, Sofía, Daniela, Carmen, Julia, Alba, Martina, Valeria, Elena,
            Claudia, Ximena, Guadalupe, Hugo, Martín, Pablo, Alejandro, Diego, Javier, Sergio,
            Mateo, Álvaro, Santiago, Andrés, Carlos, Iker
            """
        ),
        _names(
            """
            García, González, Rodríguez, Fernández, López, Martínez, Sánchez, Pérez, Gómez,
            Martín, Jiménez, Ruiz, Hernández, Díaz, Moreno, Muñoz, Álvarez, Romero, Navarro,
            Torres, Domínguez, Vázquez, Ramos, Castillo, Ortega, Herrera
            """
        ),
    ),
    "portuguese": (
        _names(
            """
            Beatriz, Mariana, Inês, Leonor, Carolina, Matilde, Ana, Gabriela, Larissa, Camila,
            Joana, Rita, João, Tiago, Rodrigo, Afonso, Duarte, Miguel, Gonçalo, Pedro, Rafael,
            Thiago, Gustavo, Bruno
            """
        ),
        _names(
            """
            Silva, Santos, Ferreira, Pereira, Oliveira, Costa, Rodrigues, Martins, Jesus, Sousa,
            Fernandes, Gonçalves, Gomes, Lopes, Marques, Alves, Almeida, Ribeiro, Pinto,
            Carvalho, Teixeira, Moreira, Correia, Mendes, Nunes, Souza
            """
        ),
    ),
    "italian": (
        _names(
            """
            Giulia, Sofia, Aurora, Alice, Ginevra, Emma, Giorgia, Beatrice, Chiara, Francesca,
            Martina, Elisa, Valentina, Leonardo, Francesco, Alessandro, Lorenzo, Mattia, Andrea,
            Gabriele, Riccardo, Tommaso, Davide, Matteo, Federico
            """
        ),
        _names(
            """
            Rossi, Russo, Ferrari, Esposito, Bianchi, Romano, Colombo, Ricci, Marino, Greco,
            Bruno, Gallo, Conti, De, Luca, Mancini, Costa, Giordano, Rizzo, Lombardi, Moretti,
            Barbieri, Fontana, Santoro, Mariani, Rinaldi, Caruso
            """
        ),
    ),
    "nordic": (
        _names(
            """
            Alice, Maja, Elsa, Astrid, Ingrid, Freja, Ida, Saga, Linnea, Sofie, Aino, Helmi,
            Emilia, Signe, Karin, Oskar, William, Lucas, Elias, Hugo, Axel, Magnus, Emil,
            Mikkel, Anders, Lars, Eero, Veeti, Nils
            """
        ),
        _names(
            """
            Andersson, Johansson, Karlsson, Nilsson, Eriksson, Larsson, Olsson, Persson,
            Svensson, Lindberg, Lindqvist, Berg, Nielsen, Jensen, Hansen, Pedersen, Christensen,
            Rasmussen, Korhonen, Virtanen, Mäkinen, Nieminen, Mäkelä, Hämäläinen, Lundgren, Holm
            """
        ),
    ),
    "polish": (
        _names(
            """
            Zuzanna, Julia, Maja, Zofia, Hanna, Lena, Alicja, Maria, Amelia, Oliwia, Agnieszka,
            Katarzyna, Małgorzata, Antoni, Jan, Aleksander, Franciszek, Jakub, Szymon, Filip,
            Mikołaj, Wojciech, Piotr, Krzysztof, Tomasz
            """
        ),
        _names(
            """
            Nowak, Kowalska, Wiśniewska, Wójcik, Kowalczyk, Kamińska, Lewandowska, Zielińska,
            Szymańska, Woźniak, Dąbrowski, Kozłowski, Jankowski, Mazur, Kwiatkowski, Krawczyk,
            Piotrowski, Grabowski, Nowakowski, Pawłowski, Michalski
            """
        ),
    ),
    "japanese": (
        _names(
            """
            Yui, Hina, Aoi, Sakura, Mio, Rin, Yuna, Haruka, Emi, Naoko, Keiko, Ayumi, Haruto,
            Sota, Yuto, Ren, Kaito, Riku, Daiki, Takumi, Kenta, Hiroshi
            """
        ),
        _names(
            """
            Sato, Suzuki, Takahashi, Tanaka, Watanabe, Ito, Yamamoto, Nakamura, Kobayashi, Kato,
            Yoshida, Yamada, Sasaki, Yamaguchi, Matsumoto, Inoue, Kimura, Hayashi, Shimizu, Mori
            """
        ),
    ),
    "indian": (
        _names(
            """
            Aanya, Diya, Saanvi, Ananya, Ishita, Kavya, Meera, Priya, Riya, Sneha, Aditi, Pooja,
            Aarav, Vihaan, Arjun, Rohan, Karan, Rahul, Vikram, Siddharth, Aditya, Nikhil
            """
        ),
        _names(
            """
            Sharma, Verma, Gupta, Iyer, Nair, Reddy, Rao, Patel, Mehta, Shah, Joshi, Kulkarni,
            Menon, Pillai, Das, Banerjee, Chatterjee, Mukherjee, Kapoor, Malhotra, Singh, Chopra
            """
        ),
    ),
}


def ascii_slug(text: str, separator: str = "") -> str:
    """Lower-case ASCII letters and digits for email local parts and domains (Müller -> muller)."""
    decomposed = unicodedata.normalize("NFKD", text)
    letters = [character for character in decomposed if character.isascii()]
    words = "".join(letters).lower().replace("'", "").split()
    cleaned = [
        "".join(character for character in word if character.isalnum() or character == "-")
        for word in words
    ]
    return separator.join(word for word in cleaned if word)


# Monthly newsletters and seasonal sends; each goes to a slice of the consented customers.
CAMPAIGN_THEMES: tuple[str, ...] = (
    "New year skin reset",
    "Winter barrier care",
    "Spring cleanse edit",
    "SPF season is here",
    "Summer glow",
    "Travel minis",
    "Back to routine",
    "Autumn serums",
    "Sleep and wellness",
    "Black Friday preview",
    "Gift guide",
    "Last orders before Christmas",
)

COUPONS: tuple[tuple[str, int], ...] = (  # code, percent off the subtotal
    ("WELCOME10", 10),
    ("GLOW15", 15),
    ("FRIENDS20", 20),
)

# Flat rate below the free-shipping threshold, as most small shops charge.
SHIPPING_CENTS = 495
FREE_SHIPPING_FROM_CENTS = 4000

# Spas and salons that restock in bulk through the back office.
SPA_PREFIXES: tuple[str, ...] = _names(
    """
    Aurora, Lotus, Serenity, Willow, Saltwater, Juniper, Cedar, Moonstone, Driftwood, Ember,
    Linden, Meadow, Tidal, Alder, Birch, Silk, Amber, Harbour, Fern, Quartz, Indigo, Olive,
    Sage, Hazel
    """
)
SPA_KINDS: tuple[str, ...] = (
    "Day Spa",
    "Wellness Retreat",
    "Skin Studio",
    "Beauty Lounge",
    "Hotel & Spa",
    "Massage House",
    "Bath House",
    "Skin Clinic",
)
CONTACT_TITLES: tuple[str, ...] = ("Owner", "Spa manager", "Purchasing", "Head therapist")
