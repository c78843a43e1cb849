/// Common US given names and surnames (a broad general list, not the demo seed's).
/// Names that are also everyday English words (Will, May, Grace, Young, Brown, White,
/// Long, ...) are left out on purpose: in clinical text they are far more often words,
/// and the context rules (titles, "patient", "name:") still catch them as names.
enum NameLists {
    static let first = """
    James John Robert Michael David Richard Joseph Thomas Charles Christopher Daniel Matthew Anthony Donald
    Steven Paul Andrew Joshua Kenneth Kevin Brian George Timothy Ronald Edward Jason Jeffrey Ryan Jacob Gary
    Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin Samuel Gregory Alexander Patrick
    Raymond Dennis Jerry Tyler Aaron Jose Adam Nathan Henry Douglas Zachary Peter Kyle Noah Ethan Jeremy
    Walter Christian Keith Roger Terry Austin Sean Gerald Carl Harold Dylan Arthur Lawrence Jordan Jesse
    Bryan Billy Bruce Gabriel Joe Logan Alan Juan Albert Willie Elijah Wayne Randy Vincent Mason Roy Ralph
    Bobby Russell Bradley Philip Eugene Louis Harry Howard Johnny Liam Oliver Lucas Aiden Caleb Owen Isaac
    Luke Levi Julian Hudson Carter Wyatt Jaxon Lincoln Isaiah Landon Adrian Colton Dominic Xavier Cooper
    Miles Theodore Ezra Leo Victor Oscar Simon Marcus Frederick
    Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty Sandra
    Margaret Ashley Kimberly Emily Donna Michelle Carol Amanda Melissa Deborah Stephanie Rebecca Sharon
    Laura Cynthia Kathleen Amy Angela Shirley Brenda Pamela Nicole Anna Samantha Katherine Christine Debra
    Rachel Carolyn Janet Maria Catherine Heather Diane Olivia Julie Joyce Victoria Ruth Virginia Lauren
    Kelly Christina Joan Evelyn Judith Andrea Hannah Megan Cheryl Jacqueline Martha Madison Teresa Gloria
    Sara Janice Kathryn Abigail Sophia Frances Jean Alice Judy Isabella Julia Beverly Denise Marilyn Amber
    Danielle Brittany Diana Natalie Kayla Alexis Lori Tiffany Emma Ava Mia Charlotte Amelia Harper
    Evelyn Ella Avery Scarlett Chloe Lily Aria Zoey Nora Riley Layla Ellie Stella Hazel Aurora Violet
    Lucy Audrey Claire Skylar Paisley Everly Anna Caroline Genesis Aaliyah Kennedy Kinsley Allison
    Gabriella Madelyn Cora Clara Elena Ivy Naomi Sadie
    Morgan Taylor Parker Peyton Cameron Jamie Jordan Rowan
    Luis Carlos Miguel Jorge Pedro Diego Alejandro Javier Fernando Ricardo Manuel Rafael Sergio Eduardo
    Mohammed Ahmed Ali Omar Hassan Wei Li Ming Hiroshi Yuki Priya Raj Arjun Anil Sanjay Deepak Fatima
    Aisha Leila Yasmin Mei Lin Ana Lucia Gabriela Camila Valentina Sofia Ximena Mariana Daniela Paula
    
    """
    static let last = """
    Smith Johnson Williams Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson
    Anderson Thomas Taylor Moore Jackson Martin Perez Thompson Harris Sanchez Clark Ramirez Lewis
    Robinson Walker Allen Wright Torres Nguyen Flores Scott Adams Nelson Baker Campbell Mitchell
    Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris
    Morales Murphy Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos
    Kim Cox Ward Richardson Watson Brooks Chavez James Bennett Mendoza Ruiz Hughes Alvarez
    Castillo Sanders Patel Myers Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Fisher
    Henderson Coleman Simmons Patterson Jordan Reynolds Hamilton Graham Gonzales Alexander Griffin
    Wallace Marshall Owens Harrison Gibson McDonald Kennedy Ellis Tran Freeman Webb Tucker Porter
    Hunter Hicks Crawford Henry Boyd Mason Kennedy Warren Dixon Ramos Burns Gordon Shaw Holmes
    Robertson Daniels Palmer Nichols Ferguson Hawkins Dunn Perkins
    Hudson Spencer Gardner Stephens Payne Pierce Berry Matthews Arnold Wagner Willis Watkins Olson
    Carroll Duncan Snyder Hart Cunningham Bradley Andrews Ruiz Harper Riley Armstrong Carpenter
    Weaver Greene Lawrence Elliott Chavez Sims Austin Peters Kelley Franklin Lawson Vasquez
    Ryan Schmidt Carr Castro Chapman Oliver Montgomery Richards Williamson Johnston Meyer Bishop
    McCoy Howell Morrison Hansen Fernandez Garza Harvey Burton Nunez Molina Jacobs Vargas Lynch
    Gilbert Garrett Romero Welch Larson Frazier Burke Hanson Mendez Moreno Bowman Medina Fowler Brewer
    Hoffman Carlson Silva Pearson Holland Douglas Fleming Jensen Vargas Byrd Davidson Hopkins
    Herrera Wade Soto Walters Curtis Neal Caldwell Lowe Jennings Barnett Graves Jimenez Horton
    Shelton Barrett Obrien O'Brien Castro Sutton Gregory McKinney Lucas Miles Craig Rodriquez Chambers
    Lambert Fletcher Watts Bates Rhodes Pena Newman Haynes McDaniel Mendez Vaughn
    Dawson Santiago Norris Steele Curry Schultz Barker Guzman Munoz Ball
    Keller Chandler Weber Leonard Walsh Lyons Ramsey Wolfe Schneider Mullins Benson Bowen Daniel
    Barber Cummings Hines Baldwin Griffith Valdez Hubbard Salazar Reeves Warner Stevenson Burgess Santos
    Tate Garner Thornton Dennis McGee Farmer Delgado Aguilar Vega Glover Manning
    Cohen Harmon Rodgers Robbins Newton Todd Blair Higgins Ingram Cannon Strickland Townsend
    Potter Goodwin Walton Rowe Hampton Ortega Patton Swanson Joseph Francis Goodman Maldonado Yates
    Becker Erickson Hodges Rios Conner Adkins Webster Norman Malone Hammond Flowers Cobb Moody
    Maxwell Floyd Osborne Paul McCarthy Guerrero Lindsey Estrada Sandoval Gibbs Tyler
    Fitzgerald Stokes Doyle Sherman Saunders Colon Alvarado Greer Padilla Simon Waters
    Nunez Ballard Schwartz McBride Houston Christensen Klein Pratt Briggs Parsons McLaughlin Zimmerman
    Buchanan Moran Copeland Roy Pittman Brady McCormick Brock Poole Logan Owen
    Wong Jefferson Park Morton Abbott Sparks Patrick Norton Huff Clayton Massey Lloyd
    Figueroa Carson Bowers Roberson Barton Tran Harrington Boone Cortez Clarke Mathis Singleton
    Wilkins Cain Bryan Underwood Hogan McKenzie Collier Luna Phelps McGuire Allison Bridges Wilkerson Nash
    Summers Atkins Wilcox Pitts Conley Marquez Burnett Richard Cochran Davenport
    Ayala Roman Vazquez Dickerson Hodge Acosta Flynn Espinoza Nicholson Monroe Morrow Kirk
    Randall Anthony Whitaker Skinner Molina Kirby Huffman Bradford Charles Gilmore Dominguez Oneal
    Bruce Lang Combs Kramer Heath Hancock Gallagher Gaines Shaffer Wiggins Mathews McClain Fischer
    Melton Hensley Dyer Cameron Grimes Contreras Christian Wyatt Baxter Mosley Shepherd
    Larsen Hoover Beasley Glenn Petersen Whitehead Meyers Keith Garrison Vincent Shields
    Olsen Schroeder Hartman Woodard Mueller Kemp Deleon Booth Patel Calhoun Wiley Eaton Cline Navarro
    Harrell Lester Humphrey Parrish Duran Hutchinson Hess Dorsey Bullock Robles Beard Dalton Avila Vance
    Blackwell York Johns Blankenship Trevino Salinas Campos Pruitt Moses Callahan Golden Montoya
    Hardin Guerra McDowell Stafford Gallegos Henson Wilkinson Booker Merritt Miranda Atkinson Orr
    Decker Hobbs Preston Tanner Knox Pacheco Stephenson Rojas Serrano Marks Hickman Sweeney
    Prince McClure Conway Walter Roth Maynard Farrell Lowery Hurst Nixon Weiss Trujillo Ellison
    Sloan Juarez Winters McLean Randolph Leon Boyer Villarreal McCall Gentry Carrillo Ayers Lara
    Shannon Hull Leblanc Browning Velasquez Leach Chang Sellers Herring
    Bartlett Mercado Landry Durham Walls McKee Bauer Everett Bradshaw Pugh Velez Estes
    Dodson Morse Sheppard Weeks Camacho Bean Barron Livingston Middleton Spears Blevins Chen Kerr
    McConnell Hatfield Harding Ashley Solis Herman Frost Giles Blackburn William Pennington Woodward
    McIntosh Koch Solomon McCullough Dudley Nolan Blanchard Rivas Brennan Mejia Kane Benton Joyce
    Buckley Haley Valentine Maddox Russo McKnight Buck McMillan Crosby Berg Dotson Mays Roach
    Chan Richmond Meadows Faulkner Oneill Knapp Kline Barry Ochoa Jacobson Hendricks Horne
    Shepard Hebert Cherry Cardenas McIntyre Whitney Waller Holman Donaldson Cantu Terrell Morin Gillespie
    Fuentes Tillman Sanford Bentley Peck Salas Rollins Gamble Dickson Santana Cabrera Cervantes
    Howe Hinton Spence Zamora Yang McNeil Suarez Petty Gould McFarland Sampson Carver Bray
    Rosario Macdonald Hester Melendez Dillon Farley Hopper Potts Bernard Joyner Stein
    Aguirre Osborn Mercer Bender Franco Rowland Sykes Benjamin Travis Pickett Crane Mayo Dunlap
    Hayden Wilder McKay Coffey McCarty Ewing Cooley Vaughan Bonner Ferrell Cantrell
    Fulton Calderon Rosa Pollard Hooper Burch Mullen Fry Riddle Levy David Odonnell
    Michael Britt Frederick Daugherty Berger Dillard Alston Jarvis Frye Riggs Chaney Odom Duffy Fitzpatrick
    Valenzuela Merrill Mayer Alford McPherson Acevedo Donovan Barrera Albert Cote Reilly Compton Raymond
    Mooney McGowan Cleveland Clemons Wynn Nielsen Baird Stanton Snider Rosales Witt Stuart
    Hays Holden Rutledge Kinney Clements Castaneda Slater Hahn Emerson Conrad Burks Delaney Pate Lancaster
    Tyson Sharpe Whitfield Talley Macias Irwin Burris Ratliff McCray Madden Kaufman Beach
    Goff Bolton McFadden Levine Byers Kirkland Workman Carney Dale McLeod Holcomb England
    Finch Hendrix Sosa Haney Franks Sargent Nieves Downs Rasmussen Hewitt Lindsay
    Foreman Valencia Oneil Delacruz Vinson Dejesus Hyde Forbes Gilliam Guthrie Wooten Huber Barlow Boyle
    McMahon Buckner Rocha Puckett Langley Knowles Cooke Velazquez Whitley Noel Vang
    
    """
    static let firstSet: Set<UInt64> = Set(first.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { Scan.hashLower(String($0)) })
    static let lastSet: Set<UInt64> = Set(last.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { Scan.hashLower(String($0)) })
}
